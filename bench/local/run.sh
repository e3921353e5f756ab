#!/usr/bin/env bash
# Local-engine benchmarks: sleep suite (N = 2, 8, 16), slow-slots scenario, small Rails app.
# Generated suites and raw logs go to bench/out/local/ (gitignored); the tables are printed and
# saved there as Markdown; bench/local/RESULTS.md records them by hand with the machine.
#   REPS=3 TOTAL=64 SLOTS=2,8,16 FULL=0 bash bench/local/run.sh [sleep|slow|rails ...]
# By default (15 min on 2 cores) only the rows the targets compare run: parallel_rspec and
# specswarm (reset, fork) at every N, REPS times. FULL=1 (22 min) adds the reference baselines in
# every repetition: serial rspec on the sleep suite, and serial rspec plus one rspec per file
# (sequential and xargs -P N) on the Rails app; RESULTS.md is made with FULL=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bench/out/local"
reps=${REPS:-3}
total=${TOTAL:-64}
slots=${SLOTS:-2,8,16}
full=${FULL:-0}
serial_flag=(); ((full)) || serial_flag=(--no-serial)
export SPECSWARM=${SPECSWARM:-$root/build-bench/specswarm}
mkdir -p "$out"

if [[ ! -x "$SPECSWARM" ]]; then
  cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-bench" -j2 --target specswarm >/dev/null
fi
# The binary finds its Ruby worker (src/exec/ruby/bin/specswarm_worker.rb) in the source tree at every
# run, so an edit to the shared working tree would change the engine in the middle of a bench.
# Pin a copy for the whole bench (unless SPECSWARM_RUBY_DIR is set) and report its version.
if [[ -z "${SPECSWARM_RUBY_DIR:-}" ]]; then
  rm -rf "$out/ruby" && cp -r "$root/src/exec/ruby" "$out/ruby"
  export SPECSWARM_RUBY_DIR="$out/ruby"
fi
worker_version() {
  local blob; blob=$(git -C "$root" hash-object "$SPECSWARM_RUBY_DIR/bin/specswarm_worker.rb")
  local at; at=$(git -C "$root" log -1 --format=%h --find-object="$blob" -- src/exec/ruby/bin/specswarm_worker.rb 2>/dev/null)
  if [[ -n "$at" ]]; then echo "worker ${blob:0:7} (as in commit $at)"; else echo "worker ${blob:0:7} (uncommitted)"; fi
}
bin_time=$(date -u -r "$SPECSWARM" '+%H:%M UTC')
for tool in ruby rspec parallel_rspec; do
  command -v "$tool" >/dev/null || { echo "bench/local: $tool is missing (make bench installs it)" >&2; exit 2; }
done

machine() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //');" \
       "RAM: $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- HEAD $(cd "$root" && git rev-parse --short HEAD); binary $SPECSWARM built $bin_time; $(worker_version);" \
       "$(ruby -v | cut -d' ' -f1-2), rspec $(ruby -e 'require "rspec/core"; print RSpec::Core::Version::STRING'), parallel_tests $(ruby -e 'require "parallel_tests/version"; print ParallelTests::VERSION')"
}

run_sleep() {
  ruby "$here/gen_suite.rb" "$out/suite" --total "$total" >/dev/null
  { echo "### Sleep suite: $(cat "$out/suite/manifest.json" | ruby -rjson -e 'm=JSON.parse(STDIN.read); print "#{m["files"]} files, #{m["examples"]} examples, total #{m["total"]} s, longest example #{m["longest_example"]} s, long file #{m["long_file"]} s, boot #{m["boot"]} s"')"
    machine
    echo
    ruby "$here/bench.rb" --suite "$out/suite" --slots "$slots" --reps "$reps" "${serial_flag[@]}" --json "$out/sleep.json"
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
    FULL=$full bash "$here/rails_bench.sh" "$out/rails"
  } | tee "$out/rails.md"
}

what=("$@")
((${#what[@]})) || what=(sleep slow rails)
for w in "${what[@]}"; do "run_$w"; done
