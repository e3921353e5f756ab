#!/usr/bin/env bash
# The cost of CURVE on a sync (issue 10): a peer's object store brought up to date over a CURVE
# link and over a plain one, through PeerLink, PackBuilds, PackReceiver and the ObjectStore
# (bench/swarm/sync_bench.cc, which says exactly what is real and what is simulated).
#   bash bench/swarm/sync.sh [REPS]        (default 9 repetitions)
# Build: like dispatch.sh, its own small CMake project (bench/swarm/CMakeLists.txt) compiling
# the node and sync sources it needs into build-swarm-bench/ (make -j1); it does not use the
# main build. Needs cmake, python3, git and the main project's build packages (cppzmq, msgpack,
# libsodium, libgit2, spdlog).
# Project: /var/tmp/realworld/rubocop when present (SOURCE=DIR for another; without rubocop,
# this repository), cloned at its HEAD (`git clone --depth 1`) into a temp directory, never
# touched itself. In the clone one line of CHANGED (default, for rubocop, the first example of
# spec/rubocop/cop/style/nil_comparison_spec.rb, the change of bench/swarm/netns.sh's sync part;
# otherwise README.md) is changed and committed: OLD = the clone's HEAD, NEW = the commit of
# the change. Cases: incremental (the peer holds OLD) and full (an empty peer, the first sync).
# Every repetition runs each case with CURVE off and on, the order alternating; the clock is
# the peer's, from its first ChunkRequest to the commit published in its store. Prints every
# measurement, then medians, min-max and the ratio on/off.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
reps=${1:-9}
build=$top/build-swarm-bench
bin=$build/sync_bench

if [[ -z ${SOURCE:-} ]]; then
  if [[ -d /var/tmp/realworld/rubocop/.git ]]; then SOURCE=/var/tmp/realworld/rubocop; else SOURCE=$top; fi
fi
if [[ -z ${CHANGED:-} ]]; then
  if [[ -f $SOURCE/spec/rubocop/cop/style/nil_comparison_spec.rb ]]; then
    CHANGED=spec/rubocop/cop/style/nil_comparison_spec.rb
  else
    CHANGED=README.md
  fi
fi

if [[ ! -f $build/Makefile ]]; then
  cmake -S "$here" -B "$build" >/dev/null
fi
make -C "$build" -j1 sync_bench >/dev/null

tmp=$(mktemp -d /var/tmp/specswarm-sync-bench.XXXXXX)
out=$tmp/lines
trap 'rm -rf "$tmp"' EXIT
git -c advice.detachedHead=false clone -q --depth 1 "file://$SOURCE" "$tmp/repo"
old=$(git -C "$tmp/repo" rev-parse HEAD)
# One line: the first example's description gains a word (else a line appended to the file).
if grep -q "it '" "$tmp/repo/$CHANGED"; then
  sed -i "0,/it '/s//it 'still /" "$tmp/repo/$CHANGED"
else
  echo "one more line" >>"$tmp/repo/$CHANGED"
fi
git -C "$tmp/repo" -c user.name=bench -c user.email=bench@localhost commit -q -am "bench: one line"
new=$(git -C "$tmp/repo" rev-parse HEAD)
files=$(git -C "$tmp/repo" ls-files | wc -l)
size=$(du -sh --exclude=.git "$tmp/repo" | cut -f1)

# shellcheck source=/dev/null
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r), loopback; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== project: $SOURCE at ${old:0:12} ($files files, $size), one line of $CHANGED changed: ${new:0:12}"
echo "== $reps repetitions per case and mode, interleaved (off/on order alternating), after one warm-up each"
git -C "$tmp/repo" diff --stat HEAD^ HEAD | tail -1

status=0
if "$bin" --repo "$tmp/repo" --old "$old" --new "$new" --work "$tmp/work" --reps "$reps" | tee "$out"; then :; else status=1; fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
python3 - "$out" <<'EOF'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    if not line.startswith("case="):
        continue
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    kv["ok"] = line.split()[-1] == "ok"
    if kv["warmup"] == "0":
        rows.append(kv)
def vals(case, curve, key):
    return [float(r[key]) for r in rows if r["case"] == case and r["curve"] == curve and r["ok"]]
def fmt(v):
    return f"{statistics.median(v):9.2f} ({min(v):.2f}–{max(v):.2f})" if v else "       —"
print(f"{'case':<12} {'bytes':>9} {'chunks':>6}  {'measure (ms)':<26} {'CURVE off: median (min–max)':<30} "
      f"{'CURVE on: median (min–max)':<30} {'on/off':>7} {'paired':>7}")
for case in ("incremental", "full"):
    sample = [r for r in rows if r["case"] == case]
    if not sample:
        continue
    for key, label in (("sync_ms", "request → published"), ("transfer_ms", "  transfer"),
                       ("verify_ms", "  verify + publish"), ("link_ms", "link start → hello")):
        off, on = vals(case, "0", key), vals(case, "1", key)
        ratio = statistics.median(on) / statistics.median(off) if off and on else float("nan")
        # Paired: each repetition's on against its own off (measured back to back).
        pairs = {}
        for r in sample:
            if r["ok"]:
                pairs.setdefault(r["rep"], {})[r["curve"]] = float(r[key])
        paired = [p["1"] / p["0"] for p in pairs.values() if "0" in p and "1" in p and p["0"] > 0]
        pm = statistics.median(paired) if paired else float("nan")
        print(f"{case:<12} {sample[0]['pack_bytes']:>9} {sample[0]['chunks']:>6}  {label:<26} {fmt(off):<30} "
              f"{fmt(on):<30} {ratio:7.3f} {pm:7.3f}")
bad = [r for r in rows if not r["ok"]]
if bad:
    print(f"{len(bad)} measurement(s) FAILED")
print("on/off: ratio of the medians; paired: median of each repetition's on/off (> 1: CURVE slower)")
EOF
exit $status
