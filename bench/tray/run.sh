#!/usr/bin/env bash
# What the tray costs the person at the desk: CPU time of `specswarm tray` and of the status
# queries it runs, over SECONDS of a real `join` on loopback (sharing) and of no join (not
# sharing: status, then discover, every round), at the default interval (0.5 s) and at 2 s.
#   bash bench/tray/run.sh [SECONDS=60]      INTERVALS="0.5 2" (default), SPECSWARM=path/to/specswarm
# Prints CPU seconds per minute and % of one core for each case; copy them to bench/RESULTS.md.
set -euo pipefail
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
bin=${SPECSWARM:-$here/../../build/specswarm}
[[ -x "$bin" ]] || { echo "bench/tray: no $bin (make first)" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
export XDG_RUNTIME_DIR=$work/run QT_QPA_PLATFORM=offscreen
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
"$bin" key new >/dev/null
port=$(( 20000 + RANDOM % 20000 ))

# CPU seconds (user+sys) of the tray, its reaped children, and its children still running (the
# status watch lives as long as the tray), from /proc/PID/stat.
cpu() {
  local total
  total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
  for child in $(ps -o pid= --ppid "$1"); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }'
}

measure() {  # NAME INTERVAL
  local name=$1 interval=$2
  "$bin" tray --port "$port" --interval "$interval" 2>/dev/null &
  local tray=$!
  pids+=("$tray")
  sleep 3  # past start-up
  local before; before=$(cpu "$tray")
  sleep "$seconds"
  local after; after=$(cpu "$tray")
  kill "$tray"; wait "$tray" 2>/dev/null || true
  awk -v n="$name" -v i="$interval" -v a="$after" -v b="$before" -v s="$seconds" \
    'BEGIN { printf "%-12s interval %-4s  %.2f CPU s per minute  (%.2f%% of one core)\n", n, i, (a-b)*60/s, (a-b)*100/s }'
}

"$bin" join --allow-root --no-mdns --port "$port" --slots 2 >/dev/null 2>&1 &
pids+=("$!")
sleep 1
for interval in ${INTERVALS:-0.5 2}; do measure sharing "$interval"; done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
for interval in ${INTERVALS:-0.5 2}; do measure not-sharing "$interval"; done
