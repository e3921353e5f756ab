#!/usr/bin/env bash
# The sync benchmark: first sync vs `git clone --no-local`, incremental sync after a one-line
# change, relay peer-to-peer, and snapshot of a dirty tree vs `git stash create`.
#   bench/sync/run.sh [RUNS]        (results by hand into bench/sync/RESULTS.md)
# Needs python3, git, hyperfine. Work happens under ${SYNC_BENCH_DIR:-/tmp/specswarm-sync-bench}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
runs=${1:-5}
work=${SYNC_BENCH_DIR:-/tmp/specswarm-sync-bench}
repo=$work/repo
bin=$top/build-sync-bench/sync_bench
mkdir -p "$work"

median() {  # medians from a hyperfine --export-json file
  python3 -c 'import json,sys,statistics as s
for r in json.load(open(sys.argv[1]))["results"]: print("median %.1f ms  %s" % (1000*s.median(r["times"]), r["command"]))' "$1"
}

if [[ ! -x $bin || $here/sync_bench.cc -nt $bin ]]; then
  cmake -S "$here" -B "$top/build-sync-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$top/build-sync-bench" -j2 >/dev/null
fi
if [[ ! -d $repo/.git ]]; then
  echo "== generating $repo"
  /usr/bin/time -f "generated in %e s" python3 "$here/gen_repo.py" "$repo"
fi
git -C "$repo" update-index -q --refresh || true
echo "== repository: $(git -C "$repo" ls-files | wc -l) files, $(git -C "$repo" rev-list --count HEAD) commits," \
     "working tree $(du -sm --exclude=.git "$repo" | cut -f1) MB, .git $(du -sm "$repo/.git" | cut -f1) MB"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"

echo; echo "== first sync to an empty peer (snapshot + pack + receive/index/verify + checkout)"
"$bin" first "$repo" "$runs"

echo; echo "== git clone --no-local of the same repository (full history, with checkout)"
hyperfine -N --runs "$runs" --prepare "rm -rf $work/clone" --export-json "$work/clone.json" \
  "git clone -q --no-local $repo $work/clone" 2>&1 | grep -E "Time|Range"
median "$work/clone.json"
rm -rf "$work/clone"
git clone -q --no-local "$repo" "$work/clone"
echo "clone transferred pack: $(du -sb "$work/clone/.git/objects/pack" | cut -f1) bytes"
rm -rf "$work/clone"

echo; echo "== incremental sync after a one-line change (peer holds the previous snapshot)"
"$bin" incremental "$repo" "$((runs * 2 - 1))"

echo; echo "== relay: peer A serves the commit to an empty peer B from its store"
"$bin" relay "$repo" "$runs"

echo; echo "== snapshot of a dirty tree (20 edited, 3 deleted, 5 untracked files)"
mapfile -t files < <(git -C "$repo" ls-files 'app/*.rb' | head -23)
for f in "${files[@]:0:20}"; do echo "# dirty" >> "$repo/$f"; done
for f in "${files[@]:20:3}"; do rm "$repo/$f"; done
for i in 1 2 3 4 5; do echo "puts $i" > "$repo/app/untracked_$i.rb"; done
hyperfine -N --warmup 2 --runs $((runs * 4)) --export-json "$work/snapshot.json" \
  "$bin snapshot $repo" \
  "git -C $repo stash create" 2>&1 | grep -E "Benchmark|Time|Range"
median "$work/snapshot.json"
git -C "$repo" checkout -q -- .
rm -f "$repo"/app/untracked_*.rb
