#!/usr/bin/env bash
# Fixed and per-file costs of each runner on trivial suites (no sleeps, empty spec_helper), the
# numbers behind RESULTS.md's "Where the time goes". Medians of REPS runs (default 7), wall and
# user+sys CPU of the whole command tree.
#   bash bench/local/overhead.sh        (SPECSWARM, SPECSWARM_RUBY_DIR as for run.sh)
# Suites (in bench/out/local/overhead/): one-file (1 example), files-200 (200 files x 1 example),
# files-16 (16 files x 1 example, for the cost of booting 16 workers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bench/out/local/overhead"
reps=${REPS:-7}
sw=${SPECSWARM:-$root/build-bench/specswarm}
if [[ -z "${SPECSWARM_RUBY_DIR:-}" && -d "$root/bench/out/local/ruby" ]]; then
  export SPECSWARM_RUBY_DIR="$root/bench/out/local/ruby"  # the worker pinned by run.sh
fi

suite() {  # suite NAME FILES
  local dir="$out/$1"
  rm -rf "$dir" && mkdir -p "$dir/spec"
  : >"$dir/spec/spec_helper.rb"
  printf -- '--require spec_helper\n' >"$dir/.rspec"
  for i in $(seq 1 "$2"); do
    echo "RSpec.describe \"t$i\" do it(\"a\") { expect(1).to eq(1) } end" >"$dir/spec/t${i}_spec.rb"
  done
}

measure() {  # measure DIR LABEL CMD...: prints median wall and CPU (ms) of REPS runs
  local dir=$1 label=$2; shift 2
  local walls=() cpus=()
  for _ in $(seq 1 "$reps"); do
    local t w u s
    (cd "$dir" && /usr/bin/time -o "$out/time.txt" -f "%e %U %S" "$@" >/dev/null 2>&1) ||
      { echo "overhead.sh: $* failed in $dir" >&2; exit 1; }
    t=$(tail -1 "$out/time.txt")
    read -r w u s <<<"$t"
    walls+=("$(awk -v w="$w" 'BEGIN { printf "%d", w * 1000 + 0.5 }')")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 + 0.5 }')")
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((reps + 1) / 2))p")
  mc=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((reps + 1) / 2))p")
  printf '| %s | %s | %s | %s |\n' "$label" "$(basename "$dir")" "$mw" "$mc"
}

suite one-file 1
suite files-200 200
suite files-16 16
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load before: $(cut -d' ' -f1-3 /proc/loadavg); worker: ${SPECSWARM_RUBY_DIR:-source tree}"
echo
echo "| command | suite | wall (ms) | user+sys CPU (ms) |"
echo "|---|---|---|---|"
for s in one-file files-200; do
  measure "$out/$s" '`rspec`' rspec
  measure "$out/$s" '`parallel_rspec -n 1 spec`' parallel_rspec -n 1 spec
  measure "$out/$s" '`specswarm run --slots 1` (reset)' "$sw" run --slots 1
  measure "$out/$s" '`specswarm run --slots 1 --isolation fork`' "$sw" run --slots 1 --isolation fork
done
measure "$out/files-16" '`parallel_rspec -n 16 spec`' parallel_rspec -n 16 spec
measure "$out/files-16" '`specswarm run --slots 16` (reset)' "$sw" run --slots 16
measure "$out/files-16" '`specswarm run --slots 16 --isolation fork`' "$sw" run --slots 16 --isolation fork
