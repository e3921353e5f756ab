// What a spec's processes do to a run: nothing outlives it, nothing hangs it. Daemons are
// ended at the end and named; a timeout takes a unit's children with it; a worker killed
// mid-unit costs that unit; a boot that hangs is stopped; a run that loses every slot ends.
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>

#include "e2e_support.h"

using namespace specswarm;
using namespace specswarm::e2e;

namespace {
bool Alive(const std::string& pid_file) {
  const std::string text = testing::ReadFile(pid_file);
  REQUIRE(!text.empty());
  const int pid = std::stoi(text);
  // A zombie is gone for our purpose; only a live process counts.
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  return !stat.empty() && stat.find(") Z") == std::string::npos;
}
}  // namespace

TEST_CASE("a daemon a spec started is ended at the end of the run, and named") {
  Project project("processes");
  const std::string pid_file = project.dir() + "/daemon.pid";
  const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
  Counts swarm;
  auto run = project.Specswarm("--slots 2 --isolation " + isolation + " spec/daemon_spec.rb spec/good_spec.rb",
                               &swarm, nullptr, {{"DAEMON_PID_FILE", pid_file}});
  INFO(run.out << run.err);
  CHECK(swarm == Counts{2, 0, 0, 0, 0});
  CHECK_FALSE(Alive(pid_file));
  CHECK_THAT(run.err, Catch::Contains("ended 1 process the specs had left running"));
  CHECK_THAT(run.err, Catch::Contains("sleep 300"));
}

TEST_CASE("a unit killed by the timeout takes the processes it started with it") {
  Project project("processes");
  const std::string pid_file = project.dir() + "/child.pid";
  const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
  Counts swarm;
  auto run = project.Specswarm("--slots 1 --timeout 2 --isolation " + isolation + " spec/hang_child_spec.rb spec/good_spec.rb",
                               &swarm, nullptr, {{"CHILD_PID_FILE", pid_file}});
  INFO(run.out << run.err);
  CHECK(swarm == Counts{1, 0, 0, 1, 1});
  CHECK_THAT(run.out, Catch::Contains("per-file timeout of 2 s"));
  CHECK_FALSE(Alive(pid_file));
}

TEST_CASE("a worker killed mid-unit costs that unit, and a new worker runs the rest") {
  Project project("processes");
  const std::string isolation = GENERATE(std::string("reset"), std::string("fork"));
  Counts swarm;
  auto run = project.Specswarm("--slots 1 --isolation " + isolation + " spec/kill_worker_spec.rb spec/good_spec.rb", &swarm);
  INFO(run.out << run.err);
  CHECK(swarm == Counts{1, 0, 0, 1, 1});
  CHECK_THAT(run.out, Catch::Contains("An error occurred while running spec/kill_worker_spec.rb on slot 1"));
  CHECK_THAT(run.out, Catch::Contains("the Ruby worker of this slot died (signal 9"));
  CHECK_THAT(run.err, Catch::Contains("booting a new one"));
}

TEST_CASE("a run whose every slot is gone ends with exit 1 and names the units it could not run") {
  Project project("processes");
  for (int i = 1; i <= 6; ++i) {
    std::filesystem::copy_file(project.dir() + "/spec/kill_worker_spec.rb",
                               project.dir() + "/spec/kill" + std::to_string(i) + "_spec.rb");
  }
  Counts swarm;
  auto run = project.Specswarm("--slots 1 spec/kill1_spec.rb spec/kill2_spec.rb spec/kill3_spec.rb spec/kill4_spec.rb "
                               "spec/kill5_spec.rb spec/kill6_spec.rb", &swarm);
  INFO(run.out << run.err);
  // Four workers die (the first and three restarts); the slot gives up; two files are left.
  CHECK(swarm == Counts{0, 0, 0, 6, 1});
  CHECK_THAT(run.err, Catch::Contains("slot 1 gave up"));
  CHECK_THAT(run.out, Catch::Contains("no slot was left to run it"));
}

TEST_CASE("a boot that hangs is stopped at the boot timeout with one clear error") {
  Project project("processes");
  auto run = project.Specswarm("--slots 2 --boot-timeout 2 spec/good_spec.rb", nullptr, nullptr, {{"HANG_AT_BOOT", "1"}});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.out, Catch::Contains("did not finish booting within 2 s"));
}

TEST_CASE("a slot that cannot boot is named, and the summary counts the slots that ran") {
  Project project("processes");
  Counts swarm;
  // The slow file keeps the run going until slot 2's boot has failed.
  auto run = project.Specswarm("--slots 2 spec/good_spec.rb spec/slow_spec.rb", &swarm, nullptr, {{"FAIL_BOOT_ON_SLOT", "2"}});
  INFO(run.out << run.err);
  CHECK(swarm == Counts{2, 0, 0, 0, 0});
  CHECK_THAT(run.err, Catch::Contains("slot 2 could not boot the project, the run went on without it"));
  CHECK_THAT(run.out, Catch::Contains("1 slot)"));
}
