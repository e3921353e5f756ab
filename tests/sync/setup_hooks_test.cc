// Setup hooks: .specswarm.yml names what to run after a checkout; a hook runs again only when
// the files of its key change; a failing hook is an error with its output, and the work
// directory goes back to what it held.
#include <catch2/catch.hpp>

#include "sync/prepare.h"
#include "sync/setup_hooks.h"
#include "sync/snapshot.h"
#include "sync_test_util.h"

using namespace specswarm;
using namespace specswarm::sync;
using namespace specswarm::sync::testing;

namespace {

const char* kConfig = R"(setup:
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
)";

struct Fixture {
  GitRepo repo;
  TempDir root;
  TempDir scratch;
  ObjectStore store = *ObjectStore::Open(root.path(), "project");
  PrepareOptions options;

  Fixture() {
    options.slots = {1, 2};
    options.hook_env = {"CALLS=" + Calls()};
    repo.Write(".specswarm.yml", kConfig);
    repo.Write("Gemfile.lock", "GEM\n  rspec (3.12)\n");
    repo.Write("db/schema.rb", "create_table :users\n");
    repo.Write("app/user.rb", "class User; end\n");
    repo.Commit("project");
  }
  std::string Calls() const { return scratch / "calls"; }
  std::string TakeCalls() const {
    std::string c = ReadFile(Calls());
    fs::remove(Calls());
    return c;
  }
  // Snapshot the repo as it is, send it, prepare slot set "slots".
  Result<PrepareReport> Sync(std::string* commit = nullptr) {
    Result<Snapshot> snap = TakeSnapshot(repo.path());
    REQUIRE(snap.ok());
    if (commit) *commit = snap->commit;
    REQUIRE(Transfer(*PackStream::Build(repo.path(), snap->commit, store.Haves()), store).ok());
    return PrepareWorkDir(store, "slots", snap->commit, options);
  }
};

}  // namespace

TEST_CASE("hooks run once per peer and once per slot with TEST_ENV_NUMBER", "[sync][hooks]") {
  Fixture f;
  Result<PrepareReport> report = f.Sync();
  REQUIRE(report.ok());
  CHECK(f.TakeCalls() == "bundle\ndb slot=[]\ndb slot=[2]\n");
  REQUIRE(report->hooks.size() == 3);
  CHECK(report->hooks[0].ran);
  CHECK(report->hooks[2].slot == 2);
}

TEST_CASE("a hook reruns only when the content of its key files changes", "[sync][hooks]") {
  Fixture f;
  REQUIRE(f.Sync().ok());
  f.TakeCalls();

  f.repo.Write("app/user.rb", "class User; validates :name; end\n");  // not in any key
  REQUIRE(f.Sync().ok());
  CHECK(f.TakeCalls().empty());

  f.repo.Write("Gemfile.lock", "GEM\n  rspec (3.13)\n");
  REQUIRE(f.Sync().ok());
  CHECK(f.TakeCalls() == "bundle\n");

  f.repo.Write("db/migrate/001_add_posts.rb", "create_table :posts\n");  // matched by db/migrate/**
  REQUIRE(f.Sync().ok());
  CHECK(f.TakeCalls() == "db slot=[]\ndb slot=[2]\n");

  // A new slot has never run its per-slot hook.
  f.options.slots = {1, 2, 3};
  f.repo.Write("app/user.rb", "class User; end # 3\n");
  REQUIRE(f.Sync().ok());
  CHECK(f.TakeCalls() == "db slot=[3]\n");
}

TEST_CASE("a hook without a key runs after every checkout", "[sync][hooks]") {
  Fixture f;
  f.repo.Write(".specswarm.yml", "setup:\n  per_peer:\n    - name: always\n      run: echo always >> \"$CALLS\"\n");
  REQUIRE(f.Sync().ok());
  f.repo.Write("app/user.rb", "class User; end # 2\n");
  REQUIRE(f.Sync().ok());
  CHECK(f.TakeCalls() == "always\nalways\n");
}

TEST_CASE("a failing hook is an error with its output and the work directory goes back",
          "[sync][hooks][refusal]") {
  Fixture f;
  std::string good;
  REQUIRE(f.Sync(&good).ok());
  f.TakeCalls();
  const std::string work = f.root.path() + "/repos/project/work/slots";

  f.repo.Write("Gemfile.lock", "GEM\n  nonexistent-gem (9.9)\n");
  f.repo.Write("app/user.rb", "class User; BROKEN; end\n");
  f.repo.Write(".specswarm.yml", std::string(kConfig) + "    - name: migrate\n"
               "      run: echo 'Could not find nonexistent-gem' >&2; exit 7\n");
  Result<PrepareReport> bad = f.Sync();
  REQUIRE_FALSE(bad.ok());
  const std::string& msg = bad.status().message();
  CHECK(msg.find("setup hook 'migrate' (slot 1) failed with exit status 7") != std::string::npos);
  CHECK(msg.find("Could not find nonexistent-gem") != std::string::npos);
  // Back on the last good commit, files and all.
  Result<WorkDir> dir = WorkDir::Open(f.store, "slots");
  REQUIRE(dir.ok());
  CHECK(dir->current() == good);
  CHECK(ReadFile(work + "/app/user.rb") == "class User; end\n");
  CHECK(ReadFile(work + "/Gemfile.lock") == "GEM\n  rspec (3.12)\n");
}

TEST_CASE(".specswarm.yml mistakes are reported with their line", "[sync][hooks][config]") {
  SECTION("a valid file parses") {
    Result<SetupConfig> c = ParseSetupConfig(kConfig);
    REQUIRE(c.ok());
    REQUIRE(c->per_peer.size() == 1);
    CHECK(c->per_peer[0].key == std::vector<std::string>{"Gemfile.lock"});
    REQUIRE(c->per_slot.size() == 1);
    CHECK(c->per_slot[0].key.size() == 2);
    CHECK(c->per_slot[0].line == 7);
  }
  SECTION("an unknown key inside a hook") {
    Result<SetupConfig> c = ParseSetupConfig("setup:\n  per_peer:\n    - name: x\n      comand: ls\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message() == ".specswarm.yml line 4: unknown key 'comand' in a setup hook (known: name, run, key)");
  }
  SECTION("an unknown section in setup") {
    Result<SetupConfig> c = ParseSetupConfig("setup:\n  per_host: []\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().find("line 2: unknown key 'per_host' in setup") != std::string::npos);
  }
  SECTION("a wrong type") {
    Result<SetupConfig> c = ParseSetupConfig("setup:\n  per_slot:\n    name: db\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().find("line 3: setup.per_slot must be a list of hooks") != std::string::npos);
    Result<SetupConfig> k = ParseSetupConfig("setup:\n  per_peer:\n    - name: b\n      run: x\n      key: {a: 1}\n");
    REQUIRE_FALSE(k.ok());
    CHECK(k.status().message().find("line 5: 'key' must be a file glob or a list of them") != std::string::npos);
  }
  SECTION("a hook without run") {
    Result<SetupConfig> c = ParseSetupConfig("setup:\n  per_peer:\n    - name: b\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().find("line 3: hook 'b' needs a 'run' command") != std::string::npos);
  }
  SECTION("top-level keys belong to the modules that declare them") {
    Result<SetupConfig> unknown = ParseSetupConfig("setup: {}\nspec_dir: spec\n");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.status().message().find("line 2: unknown key 'spec_dir'") != std::string::npos);
    CHECK(ParseSetupConfig("setup: {}\nspec_dir: spec\n", {"spec_dir"}).ok());
  }
  SECTION("a key given twice in one mapping (found by fuzzing: two per_slot sections merged into two hooks named db)") {
    Result<SetupConfig> c = ParseSetupConfig(
        "setup:\n  per_slot:\n    - name: db\n      run: a\n  per_slot:\n    - name: db\n      run: b\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message() == ".specswarm.yml line 5: key 'per_slot' appears twice");
    Result<SetupConfig> run = ParseSetupConfig("setup:\n  per_peer:\n    - name: x\n      run: a\n      run: b\n");
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().message() == ".specswarm.yml line 5: key 'run' appears twice");
    Result<SetupConfig> top = ParseSetupConfig("setup: {}\nsetup: {}\n");
    REQUIRE_FALSE(top.ok());
    CHECK(top.status().message() == ".specswarm.yml line 2: key 'setup' appears twice");
  }
  SECTION("broken YAML") {
    Result<SetupConfig> c = ParseSetupConfig("setup:\n  per_peer: [\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().rfind(".specswarm.yml line", 0) == 0);
  }
}

TEST_CASE("TEST_ENV_NUMBER follows the parallel_tests convention", "[sync][hooks]") {
  CHECK(TestEnvNumber(1).empty());
  CHECK(TestEnvNumber(2) == "2");
  CHECK(TestEnvNumber(12) == "12");
}
