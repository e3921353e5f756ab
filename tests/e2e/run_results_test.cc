// specswarm reports exactly what a serial rspec reports for the same files.
#include <catch2/catch.hpp>

#include "e2e_support.h"
#include "node/timing_history.h"

using namespace specswarm;
using namespace specswarm::e2e;

TEST_CASE("the basic suite gives serial rspec's examples, failures, pending and exit code") {
  Project project("basic");
  const Counts serial = project.SerialRspec("");
  REQUIRE(serial == Counts{13, 2, 3, 0, 1});
  for (const std::string slots : {"1", "2", "4"}) {
    SECTION("on " + slots + " slots") {
      Counts swarm;
      auto run = project.Specswarm("--slots " + slots, &swarm);
      INFO(run.out << run.err);
      CHECK(swarm == serial);
      CHECK_THAT(run.out, Catch::Contains("13 examples, 2 failures, 3 pending"));
      CHECK_THAT(run.out, Catch::Contains("rspec ./spec/hash_spec.rb:2 # Hash compares with a diff"));
      CHECK_THAT(run.out, Catch::Contains("# ran on slot "));
      CHECK_THAT(run.out, Catch::Contains("-:b => 3,"));  // the diff, as rspec prints it
    }
  }
  SECTION("with fork isolation instead of reset") {
    Counts swarm;
    project.Specswarm("--slots 2 --isolation fork", &swarm);
    CHECK(swarm == serial);
  }
}

TEST_CASE("arguments after -- reach every worker's rspec") {
  Project project("basic");
  const Counts serial = project.SerialRspec("--tag ~slow");
  REQUIRE(serial.examples == 12);
  Counts swarm;
  project.Specswarm("--slots 2 -- --tag ~slow", &swarm);
  CHECK(swarm == serial);
}

TEST_CASE("named files and line filters run like rspec's") {
  Project project("basic");
  const Counts serial = project.SerialRspec("spec/hash_spec.rb:6 spec/pending_spec.rb");
  Counts swarm;
  project.Specswarm("--slots 2 spec/hash_spec.rb:6 spec/pending_spec.rb", &swarm);
  CHECK(swarm == serial);
  CHECK(swarm.examples < 13);  // the line filter applied
}

TEST_CASE("the documentation format prints the outline of each file") {
  Project project("basic");
  auto run = project.Specswarm("--slots 2 --format documentation");
  CHECK_THAT(run.out, Catch::Contains("Calculator\n  adds two numbers\n"));
  CHECK_THAT(run.out, Catch::Contains("    is wrong on purpose (FAILED - "));
  CHECK_THAT(run.out, Catch::Contains("is skipped (PENDING: not on this platform)"));
}

TEST_CASE("a JUnit report (--junit) has one testcase per example") {
  Project project("basic");
  project.Specswarm("--slots 2 --junit reports/rspec.xml");
  const std::string xml = testing::ReadFile(project.dir() + "/reports/rspec.xml");
  size_t testcases = 0;
  for (size_t at = xml.find("<testcase "); at != std::string::npos; at = xml.find("<testcase ", at + 1)) ++testcases;
  CHECK(testcases == 13);
  CHECK_THAT(xml, Catch::Contains("failures=\"2\""));
}

TEST_CASE("every slot gets its own TEST_ENV_NUMBER, the parallel_tests convention") {
  Project project("env");
  Counts swarm;
  auto run = project.Specswarm("--slots 2", &swarm);
  INFO(run.out);
  CHECK(swarm == Counts{6, 0, 0, 0, 0});
  std::set<std::string> seen;
  for (int i = 1; i <= 6; ++i) seen.insert(testing::ReadFile(project.dir() + "/log/env/" + std::to_string(i)));
  CHECK(seen == std::set<std::string>{"1=\"\"", "2=\"2\""});
}

TEST_CASE("a run records a timing history that the next run splits long files by") {
  Project project("before_all");
  Counts first;
  project.Specswarm("--slots 3", &first);
  CHECK(first == Counts{6, 0, 0, 0, 0});
  auto history = node::TimingHistory::Load(project.dir() + "/.specswarm/timings");
  REQUIRE(history.ok());
  REQUIRE(history->File("spec/shared_state_spec.rb"));
  CHECK(history->File("spec/shared_state_spec.rb")->seconds > 1.0);
  CHECK(history->examples().size() == 6);
  CHECK(history->context_groups().count("./spec/shared_state_spec.rb[1]") == 1);

  std::filesystem::remove(project.dir() + "/log/before_all.log");
  Counts second;
  auto run = project.Specswarm("--slots 3", &second);
  CHECK(second == first);
  // Split into the before(:all) group, the two independent parts and the small file.
  CHECK_THAT(run.out, Catch::Contains("2 spec files as 4 units on 3 local slots"));
  // The before(:all) group stayed whole: its state was built once, not once per example.
  const std::string log = testing::ReadFile(project.dir() + "/log/before_all.log");
  CHECK(std::count(log.begin(), log.end(), '\n') == 1);
}

TEST_CASE("rspec's --fail-fast after -- stops handing out files after the first failure") {
  Project project("basic");
  Counts swarm;
  auto run = project.Specswarm("--slots 1 -- --fail-fast", &swarm);
  INFO(run.out);
  CHECK(swarm.exit_code == 1);
  CHECK(swarm.failures == 1);
  CHECK(swarm.examples < 13);
  CHECK_THAT(run.out, Catch::Contains("were not run (--fail-fast)"));
}

TEST_CASE("a project with a Gemfile boots its workers through Bundler") {
  Project project("bundler");
  // Plain `rspec` cannot load the path gem; `bundle exec rspec` can, and so must specswarm.
  const Counts bundled = Counts{1, 0, 0, 0, 0};
  Counts swarm;
  auto run = project.Specswarm("", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == bundled);
  CHECK(project.SerialRspec("").errors_outside == 1);
}

TEST_CASE("the header names the snapshot of the tree under test, as specswarm snapshot does") {
  Project project("basic");
  auto git = testing::RunCommand("git init -q && git add -A && git -c user.name=t -c user.email=t@example.com commit -qm init && echo '# edited' >> spec/hash_spec.rb", project.dir());
  REQUIRE(git.exit_code == 0);
  auto snapshot = testing::RunCommand(std::string(SPECSWARM_BINARY) + " snapshot", project.dir());
  REQUIRE(snapshot.exit_code == 0);
  REQUIRE(snapshot.out.size() == 41);
  auto run = project.Specswarm("--slots 1");
  CHECK_THAT(run.out, Catch::Contains("Snapshot " + snapshot.out.substr(0, 40) + " (HEAD + working tree changes)"));
}
