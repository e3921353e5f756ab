#!/usr/bin/env bash
# Swarm dispatch throughput on loopback (issue 9): files handed out and answered per second with
# no-op units, through the real protocol, sockets and Scheduler (bench/swarm/dispatch_bench.cc).
#   bash bench/swarm/dispatch.sh [RUNS] [UNITS]      (default 5 runs of 100,000 units)
# Builds build-swarm-bench/dispatch_bench (make -j1), then runs every configuration RUNS times,
# interleaved so that a drift of the machine's speed hits them alike, and prints each run and
# the medians. EXTRA=0 leaves out the other rows (1 peer x 4 slots, Example messages, ZeroMQ alone).
# CURVE (issue 10): each of the two main rows, and ZeroMQ alone, also runs with every link CURVE
# (dispatch_bench --curve: a swarm key on both ends, a Gatekeeper serving ZAP in the peers'
# loop), right beside its plain row, the two in alternating order (plain first in odd runs), and
# the table ends with the ratios on/off. CURVE=0 leaves those rows out (the issue-9 table).
# Needs cmake, python3, and the build packages of the main project (cppzmq, msgpack).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
runs=${1:-5}
units=${2:-100000}
extra=${EXTRA:-1}
curve=${CURVE:-1}
target=20000
build=$top/build-swarm-bench
bin=$build/dispatch_bench

if [[ ! -f $build/Makefile ]]; then
  cmake -S "$here" -B "$build" >/dev/null
fi
make -C "$build" -j1 dispatch_bench >/dev/null

# shellcheck source=/dev/null
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r), loopback; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $runs runs of $units no-op units per configuration, interleaved"

# name|arguments; a row whose name ends in " + CURVE" is the CURVE twin of the row before it.
configs=()
row() {
  configs+=("$1|$2")
  if [[ $curve != 0 && ${3:-} == twin ]]; then configs+=("$1 + CURVE|$2 --curve"); fi
}
row "4 peers x 4 slots" "--peers 4 --slots 4" twin
row "1 peer x 1 slot" "--peers 1 --slots 1" twin
if [[ $extra != 0 ]]; then
  row "1 peer x 4 slots" "--peers 1 --slots 4"
  row "4 peers x 4 slots, + Example messages" "--peers 4 --slots 4 --example-msgs"
  row "ZeroMQ alone, 4 peers x 4 slots" "--raw --peers 4 --slots 4" twin
  row "ZeroMQ alone, 1 peer x 1 slot" "--raw --peers 1 --slots 1" twin
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for ((run = 1; run <= runs; ++run)); do
  # This run's order: every row, a CURVE twin before its plain row in even runs.
  order=()
  for i in "${!configs[@]}"; do
    if [[ ${configs[$i]%%|*} == *" + CURVE" ]] && ((run % 2 == 0)); then
      order=("${order[@]:0:${#order[@]}-1}" "$i" "${order[-1]}")
    else
      order+=("$i")
    fi
  done
  for i in "${order[@]}"; do
    args=${configs[$i]#*|}
    # shellcheck disable=SC2086
    if line=$("$bin" --units "$units" $args); then :; else status=1; fi
    echo "run $run: $line"
    echo "$i $line" >>"$out"
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== components (in-process, no sockets), µs per operation:"
"$bin" --components --units "$units"

echo
python3 - "$out" "$target" "${configs[@]}" <<'EOF'
import statistics, sys
path, target, names = sys.argv[1], float(sys.argv[2]), [c.split("|")[0] for c in sys.argv[3:]]
rows = {}
for line in open(path):
    index, rest = line.split(" ", 1)
    kv = dict(f.split("=", 1) for f in rest.split() if "=" in f)
    kv["ok"] = rest.split()[-1] == "ok"
    rows.setdefault(int(index), []).append(kv)
print(f"{'configuration':<40} {'median/s':>9} {'min':>7} {'max':>7} {'x target':>8} {'coord µs/unit':>13} {'process µs/unit':>15}")
for i, name in enumerate(names):
    r = rows.get(i, [])
    rates = [float(k["units_per_s"]) for k in r]
    if not rates:
        continue
    med = lambda key: statistics.median(float(k[key]) for k in r) if key in r[0] else float("nan")
    bad = "" if all(k["ok"] for k in r) else "  (a check FAILED)"
    print(f"{name:<40} {statistics.median(rates):>9.0f} {min(rates):>7.0f} {max(rates):>7.0f} "
          f"{statistics.median(rates) / target:>8.2f} {med('coordinator_cpu_us_per_unit'):>13.2f} "
          f"{med('process_cpu_us_per_unit'):>15.2f}{bad}")
print(f"target: {target:.0f} files/s")
# CURVE's cost: each twin against its plain row; paired = the median of each run's on/off, the two
# measured back to back.
pairs = [(i - 1, i) for i, name in enumerate(names) if name.endswith(" + CURVE") and i > 0]
if pairs:
    print()
    print(f"{'CURVE on / off':<40} {'files/s: of medians':>19} {'paired':>7} {'paired min–max':>15} "
          f"{'process CPU/unit: of medians':>28} {'paired':>7}")
    for off, on in pairs:
        a = [float(k["units_per_s"]) for k in rows.get(off, [])]
        b = [float(k["units_per_s"]) for k in rows.get(on, [])]
        if not a or not b:
            continue
        paired = [y / x for x, y in zip(a, b)]
        cpu = ""
        if "process_cpu_us_per_unit" in rows[off][0]:
            ca = [float(k["process_cpu_us_per_unit"]) for k in rows[off]]
            cb = [float(k["process_cpu_us_per_unit"]) for k in rows[on]]
            cp = [y / x for x, y in zip(ca, cb)]
            cpu = f"{statistics.median(cb) / statistics.median(ca):>28.3f} {statistics.median(cp):>7.3f}"
        print(f"{names[off]:<40} {statistics.median(b) / statistics.median(a):>19.3f} {statistics.median(paired):>7.3f} "
              f"{min(paired):>7.3f}–{max(paired):.3f}{cpu}")
    print("on / off: > 1 for files/s is CURVE faster, > 1 for CPU per unit is CURVE dearer; paired: each run's on")
    print("against its own off, measured back to back")
EOF
exit $status
