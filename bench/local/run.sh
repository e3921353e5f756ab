#!/usr/bin/env bash
# Local-engine benchmarks: sleep suite (N = 2, 8, 16), slow-slots scenario, small Rails app.
# Generated suites and raw logs go to bench/out/local/ (gitignored); the tables are printed and
# saved there as Markdown; bench/local/RESULTS.md records them by hand with the machine.
#   REPS=3 TOTAL=64 SLOTS=2,8,16 bash bench/local/run.sh [sleep|slow|rails ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bench/out/local"
reps=${REPS:-3}
total=${TOTAL:-64}
slots=${SLOTS:-2,8,16}
export SPECSWARM=${SPECSWARM:-$root/build-bench/specswarm}
mkdir -p "$out"

if [[ ! -x "$SPECSWARM" ]]; then
  cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-bench" -j2 --target specswarm >/dev/null
fi
for tool in ruby rspec parallel_rspec; do
  command -v "$tool" >/dev/null || { echo "bench/local: $tool is missing (make bench installs it)" >&2; exit 2; }
done

machine() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //');" \
       "RAM: $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- specswarm $(cd "$root" && git rev-parse --short HEAD), $(ruby -v | cut -d' ' -f1-2), rspec $(ruby -e 'require "rspec/core"; print RSpec::Core::Version::STRING'), parallel_tests $(ruby -e 'require "parallel_tests/version"; print ParallelTests::VERSION')"
}

run_sleep() {
  ruby "$here/gen_suite.rb" "$out/suite" --total "$total" >/dev/null
  { echo "### Sleep suite: $(cat "$out/suite/manifest.json" | ruby -rjson -e 'm=JSON.parse(STDIN.read); print "#{m["files"]} files, #{m["examples"]} examples, total #{m["total"]} s, longest example #{m["longest_example"]} s, long file #{m["long_file"]} s, boot #{m["boot"]} s"')"
    machine
    echo
    ruby "$here/bench.rb" --suite "$out/suite" --slots "$slots" --reps "$reps" --json "$out/sleep.json"
  } | tee "$out/sleep.md"
}

run_slow() {
  ruby "$here/gen_suite.rb" "$out/suite-slow" --total "$total" --slow-slots ",2" >/dev/null
  { echo "### Slow slots: TEST_ENV_NUMBER \"\" and \"2\" (slots 1 and 2) sleep 3x longer; same suite"
    machine
    echo
    ruby "$here/bench.rb" --suite "$out/suite-slow" --slots "${SLOW_SLOTS:-8,16}" --reps "$reps" --no-serial --json "$out/slow.json"
  } | tee "$out/slow.md"
}

run_rails() {
  { echo "### Rails app"
    machine
    echo
    bash "$here/rails_bench.sh" "$out/rails"
  } | tee "$out/rails.md"
}

what=("$@")
((${#what[@]})) || what=(sleep slow rails)
for w in "${what[@]}"; do "run_$w"; done
