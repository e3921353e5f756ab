#!/usr/bin/env bash
# The swarm in network namespaces (issue 9), root only: real `specswarm join` nodes in a SwarmLab
# (tests/swarm/swarm_lab.h: one namespace, avahi-daemon and state directory per host, the project
# hidden from the peers), real `specswarm run`, real rspec (bench/swarm/netns_bench.cc).
#   sudo bash bench/swarm/netns.sh [REPS] [SYNC_REPS]      (default 3 and 3; about 6 minutes)
# 1. heavy: 120 spec files sleeping heavy-tailed durations (lognormal, median 0.35 s, sigma 1,
#    68.4 s in all, longest 4.9 s) x SLOWDOWN; hosts 2-4 `join --slots 4`, host 4 with SLOWDOWN=3;
#    host 1 `run --slots 4` twice (cold: peers without the code, no timing history; warm: the
#    peers hold the snapshot, the cold run's history orders the queue), then `run --local
#    --slots 4` twice (no history, then that run's history). Wall time against
#    LB = boot + max(sum / capacity, longest file), capacity 3 x 4 + 4 / 3 (swarm) or 4 (local).
# 2. the peers' "pulling X s after the start" from the same runs (cold and warm), and from 3.
# 3. sync: a shallow copy of /var/tmp/realworld/rubocop (SOURCE=...) on host 1, one peer; bytes
#    sent for the first sync, after a one-line change to one spec file, and unchanged, against
#    `git pack-objects` of the same objects.
# 4. cold peers at once (COLD_PEERS=0 leaves it out): 1, 2 and 3 peers that have never seen the
#    project take their first sync at the same time, `run --slots 0`, on bench/sync's generated
#    Rails-shaped repository (5,042 files, 57 MB; generated once into COLD_REPO): who gives up.
# Builds build-swarm-bench/netns_bench (make -j1) and runs the specswarm binary of the main build
# (SPECSWARM_BIN, default build/specswarm), copied first so that a rebuild cannot change it
# mid-session. Raw lines, every run's console output, join logs and example timelines go to OUT
# (default /tmp/specswarm-netns-bench); the tables at the end are medians over the repetitions.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
reps=${1:-3}
sync_reps=${2:-3}
build=$top/build-swarm-bench
bin=${SPECSWARM_BIN:-$top/build/specswarm}
out=${OUT:-/tmp/specswarm-netns-bench}
source_repo=${SOURCE:-/var/tmp/realworld/rubocop}
cold_peers=${COLD_PEERS:-1}
cold_repo=${COLD_REPO:-/tmp/specswarm-netns-bench-repo}

if [[ $(id -u) != 0 ]]; then
  echo "netns.sh: network namespaces need root" >&2
  exit 2
fi
if [[ ! -x $bin ]]; then
  echo "netns.sh: no specswarm binary at $bin (build it: cd build && make -j1 specswarm, or set SPECSWARM_BIN)" >&2
  exit 2
fi
newer=$(find "$top/src" -newer "$bin" -type f | head -3)
if [[ -n $newer ]]; then
  echo "netns.sh: warning: $bin is older than sources under src/ (e.g. ${newer%%$'\n'*}); rebuild it to measure HEAD" >&2
fi
if [[ ! -f $build/Makefile ]] || ! grep -q netns_bench "$build/Makefile"; then
  cmake -S "$here" -B "$build" >/dev/null
fi
make -C "$build" -j1 netns_bench >/dev/null
cp "$bin" "$build/specswarm.bin"

rm -rf "$out"
mkdir -p "$out"
raw=$out/raw.txt
# shellcheck source=/dev/null
{
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r); namespaces on one machine"
  echo "== specswarm: $bin ($(stat -c %y "$bin" | cut -d. -f1)), source HEAD $(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD -- src || echo ' + uncommitted changes in src/')"
  echo "== $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/header.txt"

status=0
started=$(date +%s)
"$build/netns_bench" heavy --reps "$reps" --out "$out" | tee -a "$raw" || status=1
if [[ $sync_reps -gt 0 ]]; then
  "$build/netns_bench" sync --reps "$sync_reps" --out "$out" --source "$source_repo" | tee -a "$raw" || status=1
fi
if [[ $cold_peers != 0 ]]; then
  # 4. Cold peers at once on a large project (bench/sync's generated Rails-shaped repository).
  if [[ ! -d $cold_repo/.git ]]; then
    python3 "$top/bench/sync/gen_repo.py" "$cold_repo" >/dev/null
  fi
  for n in 1 2 3; do
    "$build/netns_bench" cold-peers --peers "$n" --source "$cold_repo" --out "$out/cold-$n" >>"$raw" || status=1
    grep "^COLD_SUMMARY peers=$n " "$raw" || true
  done
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s" | tee -a "$out/header.txt"

echo
python3 - "$raw" <<'EOF' | tee "$out/tables.txt"
import statistics, sys
from collections import defaultdict

rows = defaultdict(list)
for line in open(sys.argv[1]):
    tag, *fields = line.split()
    kv = {}
    for f in fields:
        if "=" in f:
            k, v = f.split("=", 1)
            try:
                kv[k] = float(v)
            except ValueError:
                kv[k] = v
    rows[tag].append(kv)

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")

def span(values):
    return f"{min(values):.2f}–{max(values):.2f}" if values else "-"

if rows["SUITE"]:
    s = rows["SUITE"][0]
    print(f"suite: {s['files']:.0f} files, {s['sum']:.1f} s of sleep, longest {s['longest']:.2f} s, median "
          f"{s['median']:.2f} s, {s['under_0.5']:.0f} under 0.5 s, {s['over_2']:.0f} over 2 s; "
          f"sum/capacity: swarm {s['sum'] / s['capacity_swarm']:.2f} s (capacity {s['capacity_swarm']:.2f}), "
          f"local {s['sum'] / s['capacity_local']:.2f} s")
    print()

runs = defaultdict(list)
for r in rows["RUN"]:
    runs[r["kind"]].append(r)
hosts = defaultdict(list)
for h in rows["HOST"]:
    hosts[(h["kind"], int(h["rep"]))].append(h)

if runs:
    print("heavy-tailed suite, medians over repetitions (wall/LB min–max in brackets); times in s from the run's start")
    print(f"{'run':<11} {'n':>2} {'wall':>6} {'LB':>6} {'wall/LB':>16} {'boot':>5} {'1st ex':>6} "
          f"{'fast end':>8} {'slow end':>8} {'after':>5} {'slow files':>10} {'w/o slow tail':>13} {'ok':>3}")
    for kind in ["swarm-cold", "swarm-warm", "local-cold", "local-warm"]:
        rs = runs.get(kind, [])
        if not rs:
            continue
        fast_end, slow_end, slow_files, cut = [], [], [], []
        for r in rs:
            hs = hosts[(kind, int(r["rep"]))]
            fast = [h["last_end"] for h in hs if h["host"] != "h4"]
            slow = [h for h in hs if h["host"] == "h4"]
            fast_end.append(max(fast) if fast else None)
            slow_end.append(slow[0]["last_end"] if slow else None)
            slow_files.append(slow[0]["files"] if slow else 0)
            # The run as if it had ended with the fast hosts' last example (the slow node's tail cut).
            if fast:
                cut.append((max(fast) + r["after_last"]) / r["lb"])
        ok = all(r["exit"] == 0 and r["examples"] == 120 and r["failures"] == 0 for r in rs)
        ratios = [r["ratio"] for r in rs]
        se = med(slow_end)
        print(f"{kind:<11} {len(rs):>2} {med([r['wall'] for r in rs]):>6.2f} {med([r['lb'] for r in rs]):>6.2f} "
              f"{med(ratios):>5.2f} [{span(ratios):>9}] {med([r['boot'] for r in rs]):>5.2f} "
              f"{med([r['first_example'] for r in rs]):>6.2f} {med(fast_end):>8.2f} "
              f"{(f'{se:.2f}' if se == se else '-'):>8} {med([r['after_last'] for r in rs]):>5.2f} "
              f"{med(slow_files):>10.0f} {med(cut):>13.2f} {'yes' if ok else 'NO':>3}")
    print("LB = boot (the run's slowest local slot) + max(sum / capacity, longest); 'fast end' / 'slow end': when the")
    print("last example ended on hosts 1-3 / on host 4 (3x slower); 'after': from the last example's end to the run's exit;")
    print("'w/o slow tail': (fast end + after) / LB, the ratio had the run ended when hosts 1-3 ran out of work")
    print()

peers = defaultdict(list)
for p in rows["PEER"]:
    peers[p["kind"]].append(p)
sync = defaultdict(list)
for s in rows["SYNC"]:
    sync[s["kind"]].append(s)
if peers or sync:
    print("time from `specswarm run` to a peer pulling files (\"pulling X s after the start\"), medians over peers and reps")
    print(f"{'peer':<48} {'n':>2} {'pulling':>7} {'min–max':>10} {'to sync':>7} {'sync→ready':>10} "
          f"{'accept→checked out':>18} {'code sent':>10}")
    def peer_row(name, ps, kb_key="kb"):
        if not ps:
            return
        pulling = [p["pulling"] for p in ps]
        before = [p["pulling"] - p["ready_after_accept"] for p in ps if p["ready_after_accept"] >= 0]
        ready = [p["ready_after_accept"] for p in ps if p["ready_after_accept"] >= 0]
        code = [p["checked_out"] for p in ps if p["checked_out"] >= 0]
        print(f"{name:<48} {len(ps):>2} {med(pulling):>7.1f} {span(pulling):>10} {med(before):>7.1f} "
              f"{med(ready):>10.1f} {med(code):>18.1f} {med([p[kb_key] for p in ps]):>7.1f} KB")
    peer_row("sleep suite, cold (4 slots, 16 booting at once)", peers.get("swarm-cold", []))
    peer_row("sleep suite, warm", peers.get("swarm-warm", []))
    peer_row("  of which host 4 (SLOWDOWN=3), cold", [p for p in peers.get("swarm-cold", []) if p["host"] == "host4"])
    peer_row("rubocop copy, cold (1 slot)", sync.get("first", []))
    peer_row("rubocop copy, warm after a one-line change", sync.get("incremental", []))
    peer_row("rubocop copy, warm, unchanged", sync.get("unchanged", []))
    print("to sync: run start → the coordinator sends the pack's info (mDNS, hello, offer, accept, the pack built in the")
    print("coordinator's loop) = pulling − sync→ready; sync→ready: the run's \"HOST: N slots ready after Y s\" (pack sent,")
    print("indexed, checked out, slots booted); accept→checked out: the join's \"checked out in X s\" (its own clock)")
    print()

if sync:
    git = defaultdict(list)
    for g in rows["GIT"]:
        git[g["kind"]].append(g)
    proj = rows["SYNC_PROJECT"][0] if rows["SYNC_PROJECT"] else {}
    print(f"sync bytes, {proj.get('source', '?')} as one shallow commit: {proj.get('files', 0):.0f} files, "
          f"{proj.get('tree_bytes', 0) / 1e6:.1f} MB (medians; exact bytes from the peer's \"code received (N bytes)\")")
    print(f"{'sync':<28} {'specswarm B':>12} {'git pack-objects B':>19} {'ratio':>6} {'git --thin B':>12} {'objects':>8}")
    first = sync.get("first", [])
    if first and git.get("first"):
        sb = med([s["received_bytes"] for s in first])
        gb = med([g["exact_pack_bytes"] for g in git["first"]])
        print(f"{'first (to an empty peer)':<28} {sb:>12,.0f} {gb:>19,.0f} {sb / gb:>6.3f} {'-':>12} "
              f"{med([g['exact_objects'] for g in git['first']]):>8.0f}")
        ga = med([g["pack_bytes"] for g in git["first"]])
        print(f"{'  (git rev-list --objects C)':<28} {'':>12} {ga:>19,.0f} {sb / ga:>6.3f} {'-':>12} "
              f"{med([g['objects'] for g in git['first']]):>8.0f}")
    inc = sync.get("incremental", [])
    if inc and git.get("incremental"):
        sb = med([s["received_bytes"] for s in inc])
        gb = med([g["pack_bytes"] for g in git["incremental"]])
        tb = med([g["thin_pack_bytes"] for g in git["incremental"]])
        print(f"{'after a one-line change':<28} {sb:>12,.0f} {gb:>19,.0f} {sb / gb:>6.3f} {tb:>12,.0f} "
              f"{med([g['objects'] for g in git['incremental']]):>8.0f}")
    same = sync.get("unchanged", [])
    if same:
        print(f"{'unchanged (same snapshot)':<28} {med([s['received_bytes'] for s in same]):>12,.0f} {0:>19} {'-':>6} {'-':>12} {0:>8}")
    print("git: `git rev-list --objects --no-walk C | git pack-objects --stdout` (exactly the commit and its tree,")
    print("what specswarm sends), `git rev-list --objects NEW --not OLD | git pack-objects --stdout`, and")
    print("`git pack-objects --revs --thin` for NEW ^OLD (deltas against objects the peer has; libgit2 cannot write those)")
    print()

if rows["COLD_SUMMARY"]:
    print("cold peers at once, 57 MB generated project, `run --slots 0` of one tiny spec (one run each)")
    print(f"{'cold peers':>10} {'exit':>4} {'examples':>8} {'wall s':>7} {'peers that gave up':>18} {'peers that ran':>14}")
    for c in rows["COLD_SUMMARY"]:
        print(f"{c['peers']:>10.0f} {c['exit']:>4.0f} {c['examples']:>8.0f} {c['wall']:>7.2f} {c['gave_up']:>18.0f} {c['ran']:>14.0f}")
    print("gave up: the join logged \"lost the coordinator (no heartbeat for 5 s)\" while the coordinator built packs")
EOF
exit $status
