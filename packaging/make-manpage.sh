#!/usr/bin/env bash
# Writes specswarm(1) from the binary's own help (help2man), with a COMMANDS section holding
# every subcommand's --help, so the man page never disagrees with the program.
#   packaging/make-manpage.sh BUILD/specswarm OUT.1 [tray]   (tray: the build has the tray)
set -euo pipefail
bin=$1 out=$2 with_tray=${3:-}
include=$(mktemp)
trap 'rm -f "$include"' EXIT
{
  echo '[DESCRIPTION]'
  echo 'specswarm runs a Ruby project'"'"'s RSpec suite on every idle core of the office: each machine offers'
  echo 'its cores with \fBspecswarm join\fR, and \fBspecswarm run\fR in a project hands its spec files to'
  echo 'every member of the swarm from one queue, with the exact code under test shipped as git packs.'
  echo 'Without peers it runs on the local cores. Members share a swarm key (\fBspecswarm key\fR).'
  echo '[COMMANDS]'
  commands=(run join status discover key snapshot)
  [[ "$with_tray" == tray ]] && commands+=(tray)
  for cmd in "${commands[@]}"; do
    echo ".SS \"specswarm $cmd\""
    echo '.nf'
    "$bin" "$cmd" --help 2>&1 | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./'
    echo '.fi'
  done
  echo '[FILES]'
  echo '.TP'
  echo '\fI~/.config/specswarm/swarm.key\fR'
  echo 'the swarm key (mode 0600): \fBspecswarm key new\fR, \fBspecswarm key import\fR'
  echo '.TP'
  echo '\fI~/.local/state/specswarm/\fR'
  echo 'this node'"'"'s id, peer cache, timings and logs; left in place when the package is removed'
  echo '.TP'
  echo '\fI/usr/lib/systemd/user/specswarm-join.service\fR'
  echo '\fBsystemctl \-\-user enable \-\-now specswarm\-join\fR shares this machine'"'"'s cores at every login'
  echo '.TP'
  echo '\fI/etc/xdg/autostart/specswarm-tray.desktop\fR'
  echo 'starts \fBspecswarm tray\fR at login on desktops that follow the XDG autostart specification'
} >"$include"
help2man --no-info --no-discard-stderr --section 1 --name "run RSpec suites on every idle core of the office" \
  --include "$include" --output "$out" "$bin"
