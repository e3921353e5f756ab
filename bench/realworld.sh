#!/usr/bin/env bash
# Real suites nobody here wrote, held against serial rspec and timed against parallel_rspec.
#   REPS=3 bash bench/realworld.sh [rubocop] [rspec-core]
# Needs ../shared/realworld prepared once (its README: fetch the snapshots, run setup.sh).
# For each suite and repetition: ../shared/realworld/check.sh NAME --slots 2 (exact counts
# against serial rspec, finished, nothing left running), then parallel_rspec -n 2 grouped by
# file size and, for rubocop, grouped by a runtime log recorded once beforehand. Every run is in
# a network namespace with only loopback, as check.sh does. specswarm runs with the timing
# history of the runs before it (as a team's second run would). parallel_rspec's runtime log is
# written from that history; rspec-core under parallel_rspec loses a worker or hangs in most
# runs (its specs share tmp/aruba), so its times there are not a comparison.
# Prints a Markdown table per suite; raw logs go to bench/out/realworld/. Not part of make test.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED:-$root/../shared}
D=${REALWORLD_DIR:-/var/tmp/realworld}
out="$root/bench/out/realworld"
reps=${REPS:-3}
export SPECSWARM=${SPECSWARM:-$root/build/specswarm}
mkdir -p "$out"
[[ -x "$SPECSWARM" ]] || { echo "bench/realworld: build specswarm first (make)" >&2; exit 2; }
[[ -x "$shared/realworld/check.sh" || -f "$shared/realworld/check.sh" ]] || { echo "bench/realworld: $shared/realworld/check.sh is missing" >&2; exit 2; }
# Pin the Ruby worker for the whole bench: the binary reads it from the source tree at every run.
rm -rf "$out/ruby" && cp -r "$root/src/exec/ruby" "$out/ruby"
export SPECSWARM_RUBY_DIR="$out/ruby"

netless() { timeout "$1" unshare -n sh -c 'ip link set lo up && exec "$@"' x "${@:2}"; }
seconds() { echo "$(date +%s.%N) - $1" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

machine() {
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //');" \
       "load before: $(cut -d' ' -f1-3 /proc/loadavg); HEAD $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo '+changes')"
}

# parallel_rspec -n 2 on suite $1 with rspec options $2, extra flags after; prints "seconds exit".
parallel_rspec_run() {
  local name=$1 opts=$2; shift 2
  local exe=rspec; [[ $name == rspec-core ]] && { exe=ruby; opts="-I lib exe/rspec"; }
  local s; s=$(date +%s.%N)
  (cd "$D/$name" && PARALLEL_TESTS_EXECUTABLE=$exe netless "${PT_TIMEOUT:-600}" parallel_rspec -n 2 "$@" -o "$opts" spec) \
    </dev/null >"$out/$name-pt-$(echo "$*" | tr -c 'a-z0-9\n' '_' | cut -c1-40).log" 2>&1
  local rc=$?
  echo "$(seconds "$s") $rc"
}

bench_suite() {
  local name=$1 rargs pt_timeout
  case $name in
    rubocop) rargs="-I lib -r bundler/setup -r $D/skip_one.rb"; export BUNDLE_GEMFILE=$D/rubocop.gemfile; pt_timeout=600 ;;
    # Under parallel_rspec rspec-core's suite hangs in most runs (its specs share tmp/aruba):
    # a run cut at 120 s is recorded as such.
    rspec-core) rargs="-I lib"; unset BUNDLE_GEMFILE; pt_timeout=120 ;;
    *) echo "unknown suite $name" >&2; return 2 ;;
  esac
  [[ -d "$D/$name" ]] || { echo "bench/realworld: $D/$name is missing: run $shared/realworld/setup.sh" >&2; return 2; }
  local ss=() by_size=() by_runtime=() checks=()
  if [[ $name == rubocop ]]; then
    # parallel_tests' best case: a runtime log with the per-file times of a complete run. Its
    # own RuntimeLogger cannot load under rubocop's bundle, so the log is written from the
    # timing history a specswarm run records (the same files, timed whole).
    [[ -s "$D/$name/.specswarm/timings" ]] || bash "$shared/realworld/check.sh" "$name" --slots 2 >/dev/null 2>&1
    mkdir -p "$D/$name/tmp"
    awk '$1 == "F" { print $4 ":" $2 }' "$D/$name/.specswarm/timings" > "$D/$name/tmp/parallel_runtime_rspec.log"
    [[ -s "$D/$name/tmp/parallel_runtime_rspec.log" ]] || { echo "bench/realworld: no runtime log for parallel_tests" >&2; return 1; }
  fi
  for ((i = 1; i <= reps; i++)); do
    local line verdict=pass
    line=$(bash "$shared/realworld/check.sh" "$name" --slots 2 2>&1) || verdict=FAIL
    echo "$line" >> "$out/$name-check.log"
    checks+=("$(echo "$line" | head -1) check.sh: $verdict")
    ss+=("$(echo "$line" | sed -n 's/.*exit [0-9]*, \([0-9.]*\)s;.*/\1/p')")
    by_size+=("$(PT_TIMEOUT=$pt_timeout parallel_rspec_run "$name" "$rargs" | tr ' ' '/')")
    if [[ $name == rubocop ]]; then
      by_runtime+=("$(parallel_rspec_run "$name" "$rargs" --group-by runtime --runtime-log tmp/parallel_runtime_rspec.log | tr ' ' '/')")
    fi
  done
  rm -f "$D/$name/tmp/parallel_runtime_rspec.log"
  echo "### $name, --slots 2 / -n 2, $reps repetitions"
  machine
  echo
  printf '%s\n' "${checks[@]}" | sed 's/^/    /'
  echo
  local m_ss m_size m_rt
  m_ss=$(printf '%s\n' "${ss[@]}" | median); m_size=$(printf '%s\n' "${by_size[@]}" | cut -d/ -f1 | median)
  echo "parallel_rspec runs are seconds/exit status (124: cut by the timeout)."
  echo
  echo "| runner | runs (s) | median (s) | specswarm / it |"
  echo "|---|---|---|---|"
  echo "| specswarm run --slots 2 | ${ss[*]} | $m_ss | |"
  echo "| parallel_rspec -n 2 (by file size) | ${by_size[*]} | $m_size | $(echo "scale=2; $m_ss / $m_size" | bc) |"
  if [[ $name == rubocop ]]; then
    m_rt=$(printf '%s\n' "${by_runtime[@]}" | cut -d/ -f1 | median)
    echo "| parallel_rspec -n 2 (by recorded runtime) | ${by_runtime[*]} | $m_rt | $(echo "scale=2; $m_ss / $m_rt" | bc) |"
  fi
  echo
}

suites=("$@"); ((${#suites[@]})) || suites=(rubocop rspec-core)
for s in "${suites[@]}"; do bench_suite "$s" | tee "$out/$s.md"; done
