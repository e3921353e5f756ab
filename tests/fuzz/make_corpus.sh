#!/usr/bin/env bash
# Regenerates the fuzz seeds in tests/fuzz/corpus/<target>/ from real runs and real files:
#   timing_history        .specswarm/timings of a real `specswarm run` of examples/demo
#   parallel_runtime_log  the runtime log of a real `parallel_rspec` run of examples/demo
#   worker_event          the event lines of the real Ruby worker running examples/demo (plus specs
#                         that fail, do not load or end their process, and a broken bundle)
#   setup_config          the .specswarm.yml examples of docs/SYNC.md and of the tests
#   wire_message, txt_record, pack_receiver ('R')   made by fuzz_seeds (make_seeds.cc) with our
#                         own encoders from that material and a small real git repository
#   pack_receiver ('T')   forged trees in the target's line language (see pack_receiver_fuzz.cc)
#   swarm_key             key files written by a real `specswarm key new`, and damaged copies
# Files named regression-* (inputs that once crashed a target) are kept; everything else in a
# target's folder is replaced. Needs the normal build tree with tests (make test) and
# ruby-parallel-tests (scripts/deps.sh bench).
#   tests/fuzz/make_corpus.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${1:-build}
CORPUS=$ROOT/tests/fuzz/corpus
SHIM=$ROOT/src/exec/ruby/bin/specswarm_worker.rb

cmake --build "$BUILD" --target specswarm fuzz_seeds -j 1 >/dev/null
W=$(mktemp -d /tmp/specswarm-corpus-XXXXXX)
trap 'rm -rf "$W"' EXIT

for t in timing_history parallel_runtime_log worker_event setup_config wire_message txt_record pack_receiver swarm_key; do
  mkdir -p "$CORPUS/$t"
  find "$CORPUS/$t" -type f ! -name 'regression-*' -delete
done

# --- timing history and parallel_tests' runtime log: real runs of the demo suite.
cp -r examples/demo "$W/demo"
(cd "$W/demo" && SPECSWARM_NO_MDNS=1 "$ROOT/$BUILD/specswarm" run --local --slots 2 >/dev/null) || true
cp "$W/demo/.specswarm/timings" "$CORPUS/timing_history/demo_run"
printf 'F 0.5 - spec/a_spec.rb\nE 0.25 ./spec/a_spec.rb[1:1]\nC ./spec/a_spec.rb[1]\n' >"$CORPUS/timing_history/every_record"
rm -rf "$W/demo/tmp" && mkdir -p "$W/demo/tmp"
(cd "$W/demo" && parallel_rspec -n 2 --test-options \
  '--format progress --format ParallelTests::RSpec::RuntimeLogger --out tmp/parallel_runtime_rspec.log' spec >/dev/null) || true
cp "$W/demo/tmp/parallel_runtime_rspec.log" "$CORPUS/parallel_runtime_log/demo_run"

# --- worker events: the real shim, driven as RubyWorker drives it (drive_worker.rb).
worker_events() {  # project dir, bundler (0|1), spec files...
  local dir=$1 bundler=$2
  shift 2
  printf '%s\n' "$@" >"$W/targets"
  (cd "$dir" && SPECSWARM_CAPTURE="$W/capture" SPECSWARM_MODE=reset SPECSWARM_TARGETS="$W/targets" \
     SPECSWARM_BUNDLER=$bundler timeout 120 ruby "$ROOT/tests/fuzz/drive_worker.rb" "$SHIM" "$W/events" "$W/results" "$@") || true
}
: >"$W/events"
cp -r examples/demo "$W/events-demo"
cat >"$W/events-demo/spec/zz_exit_spec.rb" <<'EOF'
RSpec.describe "a spec that ends its process" do
  before(:all) { @ready = true }
  it("exits") { exit!(3) }
end
EOF
cat >"$W/events-demo/spec/zz_failing_spec.rb" <<'EOF'
RSpec.describe "a failing example" do
  it("compares") { expect(1 + 1).to eq(3) }
end
EOF
echo 'raise ArgumentError, "this file does not load"' >"$W/events-demo/spec/zz_load_error_spec.rb"
(cd "$W/events-demo" && worker_events . 0 $(find spec -name '*_spec.rb' | sort))
mkdir -p "$W/broken/spec"
echo 'gem "specswarm_no_such_gem"' >"$W/broken/Gemfile"
echo 'RSpec.describe("x") { it("y") {} }' >"$W/broken/spec/x_spec.rb"
worker_events "$W/broken" 1 spec/x_spec.rb
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" >"$CORPUS/worker_event/$(printf 'line-%03d' $n)"
done <"$W/events"

# --- .specswarm.yml: the documented example and the tests' files.
awk '/^```yaml/{on=1; next} /^```/{on=0} on' docs/SYNC.md >"$CORPUS/setup_config/sync_md"
cat >"$CORPUS/setup_config/hooks_test" <<'EOF'
setup:
  per_peer:
    - name: bundle
      run: echo "bundle" >> "$CALLS"
      key: [Gemfile.lock]
  per_slot:
    - name: db
      run: echo "db slot=[$TEST_ENV_NUMBER]" >> "$CALLS"
      key:
        - db/schema.rb
        - db/migrate/**
EOF
printf 'setup:\n  per_peer:\n    - name: gems\n      run: echo no gems here; exit 3\n' >"$CORPUS/setup_config/swarm_test"
printf 'setup: {}\nspec_dir: spec\n' >"$CORPUS/setup_config/other_key"
printf 'setup:\n  per_peer:\n    - name: x\n      comand: ls\n' >"$CORPUS/setup_config/typo"

# --- a small real repository: two commits, a symlink, an executable, nested folders.
R=$W/repo
git init -q -b main "$R"
mkdir -p "$R/spec/models" "$R/bin"
cp examples/demo/.rspec examples/demo/lib/shop.rb examples/demo/spec/spec_helper.rb "$R/"
cp examples/demo/spec/models/item_spec.rb "$R/spec/models/"
git -C "$R" add -A
git -C "$R" -c user.name=Seed -c user.email=seed@example.com commit -q -m first
printf '#!/bin/sh\nbundle install --local\n' >"$R/bin/setup" && chmod +x "$R/bin/setup"
ln -s shop.rb "$R/current.rb"
echo '# changed' >>"$R/spec/models/item_spec.rb"
git -C "$R" add -A
git -C "$R" -c user.name=Seed -c user.email=seed@example.com commit -q -m second

# The node's status document, as docs/STATUS.md shows it.
awk '/^```json/{on=1; next} /^```/{on=0} on' docs/STATUS.md | head -c 4000 >"$W/status.json"
"$BUILD/tests/fuzz/fuzz_seeds" "$CORPUS" "$R" "$W/events" "$W/status.json"

# --- forged trees for pack_receiver ('T' + one entry per line, "end" closes a subtree).
tree() { printf 'T%b' "$2" >"$CORPUS/pack_receiver/$1"; }
tree tree_plain '100644 Gemfile source "https://rubygems.org"\n40000 spec\n100644 a_spec.rb describe(1) {}\nend\n100755 run #!/bin/sh'
tree tree_symlink '100644 shop.rb class Shop; end\n120000 current.rb shop.rb'
tree tree_dotdot '100644 .. pwned'
tree tree_dotgit '40000 .GIT\n100644 config [core]\nend'
tree tree_slash '100644 a/../../b pwned'
tree tree_gitlink '160000 vendor x\n100644 README hi'
tree tree_missing_blob '!100644 lost gone'
tree tree_missing_tree '!40000 lib\n100644 x.rb 1\nend'
tree tree_odd_mode '100664 group_writable x\n0100644 padded y'
tree tree_link_then_dir '120000 a x\n40000 a\n100644 b escaped\nend'
tree tree_dir_then_link '40000 a\n100644 b escaped\nend\n120000 a x'
tree tree_duplicate '100644 a one\n100644 a two'
tree tree_nested '40000 a\n40000 b\n40000 c\n100644 d deep\nend\nend\nend'

# --- swarm key files: real ones, and the damage a hand-over can do.
K=$CORPUS/swarm_key
XDG_CONFIG_HOME=$W/keys "$ROOT/$BUILD/specswarm" key new --name backend >/dev/null
cp "$W/keys/specswarm/swarm.key" "$K/real"
XDG_CONFIG_HOME=$W/keys "$ROOT/$BUILD/specswarm" key new --force >/dev/null
grep -v '^#' "$W/keys/specswarm/swarm.key" | tr '\n' '\r' >"$K/crlf_no_comments"
sed 's/^secret: ./secret: x/' "$K/real" >"$K/secret_not_ours"
grep -v '^secret' "$K/real" >"$K/no_secret"
printf 'name: team\npublic: %s\n' "$(grep '^public' "$K/real" | cut -d' ' -f2)" >"$K/public_only"

du -sh "$CORPUS"
for t in "$CORPUS"/*/; do echo "$(basename "$t"): $(find "$t" -type f | wc -l) seeds"; done
