#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang under ASan+UBSan
# in build-fuzz, then runs each, one after the other, for FUZZ_SECONDS (default 60) from its
# committed seeds, and prints the executions of each target and in total.
#   FUZZ_SECONDS=60        seconds per target
#   FUZZ_TARGETS="a b"     only these targets (default: every *_fuzz.cc)
#   FUZZ_BUILD=build-fuzz  the build tree; JOBS: parallel compile jobs
# New interesting inputs go to build-fuzz/corpus/<target>/ (never into the committed seeds);
# crashes, leaks, timeouts and sanitizer reports to build-fuzz/crashes/<target>-*, with the log
# in build-fuzz/logs/<target>.log. Exit status 1 when any target found one.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}

bash scripts/deps.sh fuzz
# Configured once; a failed configure is retried (the stamp is written only after success).
stamp=$BUILD/.specswarm-fuzz-configured
if [[ ! -f $stamp ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPECSWARM_FUZZ=ON -DSPECSWARM_TESTS=OFF >/dev/null
  touch "$stamp"
fi
cmake --build "$BUILD" --target fuzzers -j "$JOBS"

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls *_fuzz.cc | sed 's/_fuzz\.cc$//')}
mkdir -p "$BUILD/crashes" "$BUILD/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total=0
elapsed=0
failed=()
printf '%-22s %12s %10s  %s\n' target executions exec/s result
for t in $targets; do
  mkdir -p "$BUILD/corpus/$t"
  log=$BUILD/logs/$t.log
  status=0
  start=$SECONDS
  # The scratch corpus first: libFuzzer writes what it finds into the first folder it is given.
  "$BUILD/tests/fuzz/${t}_fuzz" "$BUILD/corpus/$t" "tests/fuzz/corpus/$t" \
    -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$BUILD/crashes/$t-" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  runs=${runs:-0}
  took=$((SECONDS - start > 0 ? SECONDS - start : 1))
  total=$((total + runs))
  elapsed=$((elapsed + took))
  result=ok
  if [[ $status -ne 0 ]]; then
    result="FAILED (exit $status): see $log and $BUILD/crashes/"
    failed+=("$t")
  fi
  printf '%-22s %12d %10d  %s\n' "$t" "$runs" $((runs / took)) "$result"
done
printf '%-22s %12d %10d  (%d s)\n' total "$total" $((total / (elapsed > 0 ? elapsed : 1))) "$elapsed"
if ((${#failed[@]})); then
  echo "fuzz: crashes or sanitizer reports in: ${failed[*]}" >&2
  exit 1
fi
