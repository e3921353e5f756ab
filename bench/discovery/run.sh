#!/usr/bin/env bash
# The discovery benchmark: time until a new node is seen by 1 and by 10 peers, and TXT update
# latency, on a LAN of network namespaces with real avahi-daemons (needs root, like the tests).
#   bench/discovery/run.sh [RUNS]        (results by hand into bench/discovery/RESULTS.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
runs=${1:-7}
build=$top/build-discovery-bench
if [[ $(id -u) -ne 0 ]]; then
  echo "bench/discovery: needs root (network namespaces); skipped" >&2
  exit 0
fi
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 >/dev/null
echo "== $(nproc) cores, $(uname -r), avahi $(avahi-daemon --version 2>/dev/null | cut -d' ' -f2)"
for backend in avahi dnssd; do
  "$build/discovery_bench" "$runs" "$backend"
done
