#!/usr/bin/env bash
# The .deb on a machine that has never seen it: builds the package (`make package`), checks it
# with lintian (no errors allowed), makes a minimal Debian bookworm root with mmdebstrap, installs
# the package there with `dpkg -i` and lets `apt-get -f install` pull its declared dependencies,
# then runs `specswarm --version`, the tray rendered offscreen, `specswarm run` on the demo suite
# and `systemd-analyze verify` on the user unit; checks the man page and the autostart entry. Needs root and Debian's archive; not part of `make test`.
#   scripts/package-check.sh        (or `make package-check`)
# Environment: KEEP=1 keeps the root; MIRROR=URL; TMPDIR_BASE=DIR (default /var/tmp).
set -euo pipefail

suite=bookworm
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
base=${TMPDIR_BASE:-/var/tmp}
export LC_ALL=C.UTF-8
say() { printf 'package-check: %s\n' "$*"; }
die() { printf 'package-check: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap, chroot and mounts); run: sudo $0"
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
cd "$repo"
make package >/tmp/specswarm-package.log 2>&1 || { tail -n 20 /tmp/specswarm-package.log >&2; die "make package failed"; }
deb=$(ls build-package/specswarm_*_amd64.deb)
say "built $deb"

command -v lintian >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q lintian >/dev/null ||
  die "cannot install lintian"
lint=$(lintian "$deb" 2>/dev/null || true)
[[ -n "$lint" ]] && printf '%s\n' "$lint"
if grep -q '^E:' <<<"$lint"; then die "lintian reports errors"; fi
say "lintian: no errors"
command -v desktop-file-validate >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q desktop-file-utils >/dev/null ||
  die "cannot install desktop-file-utils"
desktop-file-validate packaging/specswarm-tray.desktop || die "the tray's desktop entry is not valid"
say "desktop-file-validate: the tray's desktop entry is valid"

command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/dev/null ||
  die "cannot install mmdebstrap"
root=$(mktemp -d "$base/specswarm-package.XXXXXX")
cleanup() {
  local status=$? proc
  for proc in /proc/[0-9]*; do  # whatever still runs in the root was started here: end it by PID
    [[ "$(readlink "$proc/root" 2>/dev/null)" == "$root" ]] && kill -KILL "${proc#/proc/}" 2>/dev/null
  done
  for m in dev sys proc; do umount -l "$root/$m" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then say "kept the root: $root"; else rm -rf --one-file-system "$root"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building a minimal Debian $suite root in $root"
mmdebstrap --variant=minbase --include=git "$suite" "$root" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" \
  >/tmp/specswarm-package-root.log 2>&1 || { tail -n 20 /tmp/specswarm-package-root.log >&2; die "mmdebstrap failed"; }
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"  # no service starts in a chroot
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/specswarm.deb"
cp -r examples/demo "$root/tmp/demo"
cp tests/tray/fixtures/three_machines.json "$root/tmp/"
rm -rf "$root/tmp/demo/.specswarm"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"

chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c '
  set -eo pipefail
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  before=$(dpkg-query -W -f "\${Package}\n" | sort)
  echo "package-check: \$ dpkg -i specswarm.deb (fails: its dependencies are missing)"
  dpkg -i /tmp/specswarm.deb >/dev/null 2>&1 || true
  echo "package-check: \$ apt-get -f install"
  apt-get -f install -y -q --no-install-recommends >/dev/null
  dpkg-query -W -f "\${Status}\n" specswarm | grep -qx "install ok installed" || { echo "package-check: not installed" >&2; exit 1; }
  echo "package-check: apt-get pulled $(comm -13 <(echo "$before") <(dpkg-query -W -f "\${Package}\n" | sort) | wc -l) packages for: $(dpkg-query -W -f "\${Depends}" specswarm)"
  echo "package-check: \$ specswarm --version"
  specswarm --version
  echo "package-check: \$ specswarm tray --status three_machines.json --render (offscreen)"
  QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(mktemp -d) specswarm tray --status /tmp/three_machines.json --render /tmp/render
  cat /tmp/render/tooltip.txt
  grep -q "12 of 24 cores idle on 3 machines" /tmp/render/tooltip.txt
  test -s /tmp/render/icon-64.png
  test -f /etc/xdg/autostart/specswarm-tray.desktop
  zcat /usr/share/man/man1/specswarm.1.gz | grep -q "specswarm tray" || { echo "package-check: no man page" >&2; exit 1; }
  # The demo project needs RSpec, as any project needs its own gems: not a dependency of the tool.
  apt-get install -y -q --no-install-recommends ruby-rspec >/dev/null
  cd /tmp/demo
  echo "package-check: \$ specswarm run (examples/demo)"
  specswarm run --local > /tmp/run.log 2>&1 || true
  tail -n 3 /tmp/run.log
  tail -n 1 /tmp/run.log | grep -qx "Files without a result: 0" || { cat /tmp/run.log >&2; exit 1; }
  grep -Eq "^[0-9]+ examples?, [0-9]+ failures?" /tmp/run.log || { echo "package-check: no summary line" >&2; exit 1; }
  apt-get install -y -q --no-install-recommends systemd >/dev/null
  echo "package-check: \$ systemd-analyze verify /usr/lib/systemd/user/specswarm-join.service"
  systemd-analyze verify /usr/lib/systemd/user/specswarm-join.service
  echo "package-check: \$ apt-get purge specswarm (leaves the users state alone)"
  mkdir -p /root/.local/state/specswarm && echo keep > /root/.local/state/specswarm/node-id
  apt-get purge -y -q specswarm 2>&1 | grep "specswarm:" || true
  test -f /root/.local/state/specswarm/node-id
  test ! -e /usr/bin/specswarm
  test ! -e /etc/xdg/autostart/specswarm-tray.desktop
'
say "PASS: $deb installs on a fresh Debian $suite root with its declared dependencies, renders the tray, runs the demo, its unit verifies, purge leaves user state"
