// A spec file presents the world `rspec` would: every file loaded before any example, suite
// hooks once per process, rspec's $0, the caller's stdin, nothing of specswarm's in the
// process or in what it starts. Held against a serial `rspec` of the same fixture.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "e2e_support.h"

using namespace specswarm;
using namespace specswarm::e2e;

TEST_CASE("every file is loaded before any example, and before(:suite) runs once per process") {
  Project project("rspec_world");
  const Counts serial = project.SerialRspec("spec/alpha_spec.rb spec/beta_spec.rb");
  REQUIRE(serial == Counts{4, 0, 0, 0, 0});
  const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
  const std::string slots = GENERATE(std::string("1"), std::string("2"));
  Counts swarm;
  auto run = project.Specswarm("--slots " + slots + " --isolation " + isolation + " spec/alpha_spec.rb spec/beta_spec.rb", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == serial);
}

TEST_CASE("the specs see rspec's process: $0, stdin, no specswarm variable, constant or descriptor") {
  Project project("rspec_world");
  testing::WriteFile(std::filesystem::path(project.dir()) / "stdin.txt", "typed by the user\n");
  const std::map<std::string, std::string> env = {{"EXPECTED_STDIN", project.dir() + "/stdin.txt"}};
  // Descriptors the test runner itself leaks are closed, so whatever a spec's child finds
  // open beyond 0, 1 and 2 comes from the program under test.
  const std::string io = " <stdin.txt 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-";
  const Counts serial = project.SerialRspec("spec/world_spec.rb" + io, env);
  // One failure on purpose, for its backtrace.
  REQUIRE(serial == Counts{5, 1, 0, 0, 1});
  const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
  Counts swarm;
  auto run = project.Specswarm("--slots 2 --isolation " + isolation + " spec/world_spec.rb" + io, &swarm, nullptr, env);
  INFO(run.out << run.err);
  CHECK(swarm == serial);
  CHECK_THAT(run.out, Catch::Contains("expected: 3"));
  CHECK_THAT(run.out, Catch::Contains("# ./spec/world_spec.rb:"));
  CHECK_THAT(run.out, !Catch::Contains("specswarm_worker"));  // no frame of specswarm's own
}

TEST_CASE("a failure message with bytes that are not UTF-8 is reported, scrubbed") {
  Project project("rspec_world");
  Counts swarm;
  nlohmann::json report;
  auto run = project.Specswarm("--slots 1 spec/binary_message_spec.rb", &swarm, &report);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{1, 1, 0, 0, 1});
  CHECK_THAT(run.out, Catch::Contains("caf? ??"));  // as RSpec's own formatting prints such bytes
}

TEST_CASE("with specswarm's stdin closed, the specs read /dev/null") {
  Project project("rspec_world");
  Counts swarm;
  auto run = project.Specswarm("--slots 1 spec/world_spec.rb -- -e 'standard input' <&-", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{1, 0, 0, 0, 0});
}

namespace {
// RSpec's example status file as a set of "id status" pairs.
std::set<std::string> Statuses(const std::filesystem::path& file) {
  std::set<std::string> out;
  std::ifstream in(file);
  std::string line;
  int row = 0;
  while (std::getline(in, line)) {
    if (row++ < 2) continue;  // the header and its rule
    std::istringstream fields(line);
    std::string id, bar, status;
    fields >> id >> bar >> status;
    out.insert(id + " " + status);
  }
  return out;
}
}  // namespace

TEST_CASE("the example status file is written once, merged from every slot, as rspec writes it") {
  Project serial_copy("status_file"), project("status_file");
  serial_copy.SerialRspec("");
  const auto expected = Statuses(std::filesystem::path(serial_copy.dir()) / "spec/examples.txt");
  REQUIRE(expected.size() == 5);
  CHECK(expected.count("./spec/b_spec.rb[1:2] failed") == 1);

  Counts swarm;
  auto run = project.Specswarm("--slots 2", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{5, 1, 1, 0, 1});
  CHECK(Statuses(std::filesystem::path(project.dir()) / "spec/examples.txt") == expected);

  // And rspec's --only-failures works from it, under specswarm too.
  Counts rerun;
  auto again = project.Specswarm("--slots 2 -- --only-failures", &rerun);
  INFO(again.out << again.err);
  CHECK(rerun == Counts{1, 1, 0, 0, 1});
}

TEST_CASE("slots after the first get a tmp/ of their own, and --shared-tmp shows why") {
  Project project("private_tmp");
  testing::WriteFile(std::filesystem::path(project.dir()) / "tmp/before_the_run.txt", "kept\n");
  Counts swarm;
  auto run = project.Specswarm("--slots 2", &swarm);
  INFO(run.out << run.err);
  if (run.out.find("every slot shares the project's tmp/") != std::string::npos) {
    // A chroot or a container without mount rights: the run said so, and there is nothing to test.
    WARN("private tmp/ not testable here: " << run.err);
    return;
  }
  CHECK(swarm == Counts{4, 0, 0, 0, 0});
  // What tmp/ held shows through; only slot 1's writes reach the project's tmp/.
  CHECK(testing::ReadFile(project.dir() + "/tmp/before_the_run.txt") == "kept\n");
  // The same two files on one shared tmp/ overwrite each other's file.
  Counts shared;
  project.Specswarm("--slots 2 --shared-tmp", &shared);
  CHECK(shared.failures == 1);
}

TEST_CASE("a project run without Bundler: --no-bundler and SPECSWARM_NO_BUNDLER") {
  Project project("bundler_missing");
  auto refused = project.Specswarm("--slots 1");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("bundle install"));
  CHECK_THAT(refused.err, Catch::Contains("--no-bundler"));
  Counts flag, env;
  project.Specswarm("--slots 1 --no-bundler", &flag);
  CHECK(flag == Counts{1, 0, 0, 0, 0});
  project.Specswarm("--slots 1", &env, nullptr, {{"SPECSWARM_NO_BUNDLER", "1"}});
  CHECK(env == Counts{1, 0, 0, 0, 0});
}

TEST_CASE("errors in before(:suite) and after(:suite) read and count as under rspec") {
  Project project("suite_hooks");
  for (const char* hook : {"FAIL_BEFORE_SUITE", "FAIL_AFTER_SUITE"}) {
    const std::map<std::string, std::string> env = {{hook, "1"}};
    const Counts serial = project.SerialRspec("", env);
    const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
    Counts swarm;
    auto run = project.Specswarm("--slots 1 --isolation " + isolation, &swarm, nullptr, env);
    INFO(hook << "\n" << run.out << run.err);
    if (isolation == "fork") {
      // Fork isolation runs the suite hooks around every file: one error per file.
      CHECK(swarm == Counts{serial.examples, 0, 0, 3, 1});
    } else if (std::string(hook) == "FAIL_BEFORE_SUITE") {
      CHECK(swarm == serial);  // no example runs, one error
      CHECK_THAT(run.out, Catch::Contains("An error occurred in a `before(:suite)` hook."));
    } else {
      CHECK(swarm == serial);  // every example runs, one error at the end
      CHECK_THAT(run.out, Catch::Contains("An error occurred in an `after(:suite)` hook."));
    }
    CHECK_THAT(run.out, Catch::Contains("broke on purpose"));
  }
}

TEST_CASE("a filter that matches nothing reads as rspec says it") {
  Project project("rspec_world");
  auto serial = testing::RunCommand("rspec spec/alpha_spec.rb --tag no_such_tag", project.dir());
  REQUIRE_THAT(serial.out, Catch::Contains("All examples were filtered out"));
  Counts swarm;
  auto run = project.Specswarm("--slots 2 spec/alpha_spec.rb -- --tag no_such_tag", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{0, 0, 0, 0, 0});
  CHECK_THAT(run.out, Catch::Contains("Run options: include {:no_such_tag=>true}"));
  CHECK_THAT(run.out, Catch::Contains("All examples were filtered out"));
}
