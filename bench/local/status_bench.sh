#!/usr/bin/env bash
# A fast suite that persists example statuses (config.example_status_persistence_file_path), the
# shape of a library's suite: 107 files of 20 quick examples (2,140 examples, under a second
# serially). Times serial rspec, parallel_rspec -n 2 and specswarm --slots 1 and 2 side by side,
# REPS times each, and prints the medians. Under rspec every process persists the statuses once
# at its end; specswarm persists them once for the whole run.
#   REPS=5 bash bench/local/status_bench.sh [DIR]
set -euo pipefail
dir=${1:-$(mktemp -d)}
reps=${REPS:-5}
SPECSWARM=${SPECSWARM:-$(cd "$(dirname "$0")/../.." && pwd)/build/specswarm}
rm -rf "$dir" && mkdir -p "$dir/spec"
printf -- "--require spec_helper\n" > "$dir/.rspec"
cat > "$dir/spec/spec_helper.rb" <<'RUBY'
RSpec.configure do |c|
  c.example_status_persistence_file_path = "spec/examples.txt"
  c.order = :random
end
RUBY
ruby -e '107.times { |f| File.write(ARGV[0] + "/spec/f#{f}_spec.rb", "RSpec.describe \"F#{f}\" do\n" +
  (1..20).map { |i| "  it(\"e#{i}\") { expect((1..300).sum { |k| k * k }).to be > 0 }\n" }.join + "end\n") }' "$dir"
cd "$dir"
time_of() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A runs
for ((i = 0; i < reps; i++)); do
  runs[serial]+="$(time_of rspec) "
  runs[pt2]+="$(time_of parallel_rspec -n 2 spec) "
  runs[ss1]+="$(time_of "$SPECSWARM" run --slots 1) "
  runs[ss2]+="$(time_of "$SPECSWARM" run --slots 2) "
done
m() { tr ' ' '\n' <<<"${runs[$1]}" | grep . | median; }
echo "| runner | runs (s) | median (s) |"
echo "|---|---|---|"
echo "| serial rspec | ${runs[serial]}| $(m serial) |"
echo "| parallel_rspec -n 2 | ${runs[pt2]}| $(m pt2) |"
echo "| specswarm run --slots 1 | ${runs[ss1]}| $(m ss1) |"
echo "| specswarm run --slots 2 | ${runs[ss2]}| $(m ss2) |"
echo "specswarm --slots 2 / parallel_rspec -n 2: $(echo "scale=2; $(m ss2) / $(m pt2)" | bc)"
