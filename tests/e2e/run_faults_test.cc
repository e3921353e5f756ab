// Files that break their process: every file still ends with exactly one result, and the rest
// of the suite reports what a serial rspec of the healthy files reports.
#include <catch2/catch.hpp>

#include "e2e_support.h"

using namespace specswarm;
using namespace specswarm::e2e;

TEST_CASE("files that fail to load are errors outside of examples, and the others still run") {
  Project project("load_error");
  const Counts healthy = project.SerialRspec("spec/good_spec.rb");
  Counts swarm;
  auto run = project.Specswarm("--slots 2", &swarm);
  CHECK(swarm == Counts{healthy.examples, healthy.failures, healthy.pending, 2, 1});
  CHECK_THAT(run.out, Catch::Contains("An error occurred while loading ./spec/syntax_error_spec.rb"));
  CHECK_THAT(run.out, Catch::Contains("configuration missing while loading this file"));
  CHECK_THAT(run.out, Catch::Contains("2 examples, 1 failure, 2 errors occurred outside of examples"));
}

TEST_CASE("a child that segfaults or calls exit! becomes an error for its file, and the slot carries on") {
  Project project("crash");
  const Counts healthy = project.SerialRspec("spec/good_spec.rb");
  const std::string isolation = GENERATE(std::string("fork"), std::string("reset"));
  Counts swarm;
  nlohmann::json report;
  auto run = project.Specswarm("--slots 1 --isolation " + isolation, &swarm, &report);
  INFO(run.out << run.err);
  // The segfaulting file's first example passed before the crash and is reported.
  CHECK(swarm == Counts{healthy.examples + 1, 0, 0, 2, 1});
  CHECK_THAT(run.out, Catch::Contains("An error occurred while running spec/segfault_spec.rb on slot 1"));
  CHECK_THAT(run.out, Catch::Contains("Segmentation fault"));
  CHECK_THAT(run.out, Catch::Contains("An error occurred while running spec/exit_bang_spec.rb on slot 1"));
  CHECK_THAT(run.out, Catch::Contains("exited with status 0 before RSpec finished"));
  CHECK_THAT(run.out, Catch::Contains("leaving now"));
}

TEST_CASE("a file that hangs is killed at the timeout and reported, and the rest of the suite runs") {
  Project project("hang");
  const std::string isolation = GENERATE(std::string("fork"), std::string("reset"));
  Counts swarm;
  auto run = project.Specswarm("--slots 1 --timeout 2 --isolation " + isolation, &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{1, 0, 0, 1, 1});
  CHECK_THAT(run.out, Catch::Contains("An error occurred while running spec/hang_spec.rb on slot 1"));
  CHECK_THAT(run.out, Catch::Contains("per-file timeout of 2 s"));
  CHECK_THAT(run.out, Catch::Contains("waiting forever"));
}

namespace {
// Processes whose working directory is `dir`: the workers of a run in that project.
int ProcessesIn(const std::string& dir) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::error_code ec;
    auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", ec);
    if (!ec && cwd == std::filesystem::path(dir)) ++count;
  }
  return count;
}
}  // namespace

TEST_CASE("^C stops the run, reports what finished and leaves no worker behind") {
  Project project("hang");
  auto run = testing::RunCommand("timeout --preserve-status -s INT 3 " + std::string(SPECSWARM_BINARY) +
                                     " run --slots 2",
                                 project.dir());
  INFO(run.out << run.err);
  CHECK(run.exit_code == 130);
  CHECK_THAT(run.out, Catch::Contains("1 example, 0 failures"));
  CHECK_THAT(run.out, Catch::Contains("were not run (interrupted)"));
  CHECK(ProcessesIn(std::filesystem::canonical(project.dir()).string()) == 0);
}
