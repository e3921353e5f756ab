#!/usr/bin/env bash
# The README's first two commands on a machine that has never seen the project: builds a minimal
# Debian bookworm root with mmdebstrap (variant minbase, plus only git and make), clones this
# repository's committed HEAD into it and runs `make demo`, then `make test`, there as root, as a
# newcomer would. Run it before a release; it is not part of `make test`.
#   scripts/fresh-check.sh          (or `make fresh-check`; best under `nice -n 19`)
# Needs root and Debian's archive: it downloads a few hundred MB and compiles for several minutes.
# Uncommitted changes are not checked: commit first.
# Environment:
#   KEEP=1          keep the root afterwards (it is removed otherwise, pass or fail)
#   MIRROR=URL      Debian mirror (default http://deb.debian.org/debian)
#   TMPDIR_BASE=DIR where the root goes (default /var/tmp)
set -euo pipefail

self=$(readlink -f "$0")
suite=bookworm
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
base=${TMPDIR_BASE:-/var/tmp}
origin_in_root=/mnt/specswarm-origin  # where the checkout is visible, read-only, in the root
export LC_ALL=C.UTF-8

say() { printf 'fresh-check: %s\n' "$*"; }
die() { printf 'fresh-check: %s\n' "$*" >&2; exit 1; }

# Every mount point at or below $1 in this mount namespace, deepest first.
mounts_under() {
  awk -v dir="$1" '{ gsub(/\\040/, " ", $5); if ($5 == dir || index($5, dir "/") == 1) print $5 }' \
    /proc/self/mountinfo | sort -r
}
unmount_under() {
  local m
  while read -r m; do
    [[ -n "$m" ]] && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done < <(mounts_under "$1")
}

# ---- inside: a private mount namespace (started below with unshare), so every mount made for
# the run, including any a test makes, goes away with it even if this script is killed; the
# trap unmounts them explicitly all the same.
if [[ "${1:-}" == --inside ]]; then
  root=$2 repo=$3
  trap 'unmount_under "$root"' EXIT
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mkdir -p "$root$origin_in_root"
  mount --bind "$repo" "$root$origin_in_root"
  mount -o remount,bind,ro "$root$origin_in_root"
  # What a newcomer types, as root on the new machine, in a login shell with a clean environment.
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -l -c '
      set -eo pipefail
      cd /root
      git -c safe.directory='"$origin_in_root"' clone --no-hardlinks '"$origin_in_root"' specswarm
      cd specswarm
      echo "fresh-check: cloned $(git rev-parse --short HEAD): $(git log -1 --format=%s)"
      echo "fresh-check: \$ make demo"
      SECONDS=0
      make demo 2>&1 | tee /root/demo.log
      echo "fresh-check: make demo passed in ${SECONDS} s"
      # The demo ends with the run next to one slot, measured just now, then the count of files
      # that got no result, which must be 0.
      tail -n 2 /root/demo.log | head -n 1 | grep -Eq "^[0-9.]+ s of specs in [0-9.]+ s on [0-9]+ slots? \([0-9.]+x\)$" ||
        { echo "fresh-check: the demo did not end with its speedup line" >&2; exit 1; }
      tail -n 1 /root/demo.log | grep -qx "Files without a result: 0" ||
        { echo "fresh-check: the demo did not end with: Files without a result: 0" >&2; exit 1; }
      echo "fresh-check: \$ make test"
      SECONDS=0
      make test 2>&1 | tee /root/test.log
      echo "fresh-check: make test passed in ${SECONDS} s"
      if [ -f build/netns-tests-skipped.txt ]; then
        echo "fresh-check: skipped: $(cat build/netns-tests-skipped.txt)"
      else
        echo "fresh-check: the network-namespace scenarios ran: $(grep -c "discovery_netns:.*Passed" /root/test.log) passed"
      fi
    '
  exit
fi

# ---- outside
[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap, chroot and mounts); run: sudo $0"
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
head=$(git -C "$repo" rev-parse --short HEAD)
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]]; then
  say "note: $repo has uncommitted changes; they are not part of the check (commit $head is)"
fi

if ! command -v mmdebstrap >/dev/null; then
  say "installing mmdebstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null; } ||
    die "cannot install mmdebstrap"
fi

root=$(mktemp -d "$base/specswarm-fresh.XXXXXX")
cleanup() {
  local status=$? proc
  # Anything still running in the root was started by this check: stop it by PID.
  for proc in /proc/[0-9]*; do
    if [[ "$(readlink "$proc/root" 2>/dev/null)" == "$root" ]]; then
      kill -KILL "${proc#/proc/}" 2>/dev/null || true
    fi
  done
  unmount_under "$root"
  if [[ "${KEEP:-0}" == 1 ]]; then
    say "kept the root: $root (chroot $root /bin/bash -l; remove with rm -rf $root)"
  elif [[ -n "$(mounts_under "$root")" ]]; then
    say "left $root in place: something is still mounted under it" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building a minimal Debian $suite root in $root (mmdebstrap, minbase + git make)"
SECONDS=0
mmdebstrap --variant=minbase --include=git,make "$suite" "$root" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
# No init runs in a chroot: keep package scripts from starting services (avahi-daemon, dbus) on
# the host's network, as Debian's container images do.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Every installed machine has one; mmdebstrap leaves it to the installer.
[[ -e "$root/etc/hosts" ]] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
say "root ready in ${SECONDS} s ($(du -sh "$root" | cut -f1)); cloning commit $head into it"

SECONDS=0
status=0
unshare --mount --propagation private bash "$self" --inside "$root" "$repo" || status=$?
if ((status == 0)); then
  say "PASS: make demo and make test on a fresh Debian $suite root, commit $head, in ${SECONDS} s"
else
  say "FAIL (exit $status) after ${SECONDS} s: see the output above" >&2
fi
exit "$status"
