// RubyWorker against real Ruby and RSpec: boot once and load every file, run units in forked
// children, report structured events, survive a child that crashes.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <poll.h>

#include "exec/ruby_worker.h"
#include "exec/shim_path.h"
#include "test_support.h"

using namespace specswarm;
using namespace specswarm::exec;

namespace {

WorkerConfig Config(const std::string& project, const testing::TempDir& scratch) {
  WorkerConfig config;
  config.project_dir = std::string(SPECSWARM_TEST_FIXTURES) + "/" + project;
  auto shim = FindWorkerShim();
  REQUIRE(shim.ok());
  config.shim = *shim;
  config.scratch_dir = scratch.str();
  // The run's targets: every spec file of the fixture, as `specswarm run` lists them.
  config.targets_file = scratch.str() + "/targets";
  std::ofstream targets(config.targets_file);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config.project_dir + "/spec", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 8 && name.substr(name.size() - 8) == "_spec.rb") targets << "spec/" << name << "\n";
  }
  return config;
}

// Reads events until `done` says so (or 30 s pass); returns every event read.
template <typename Done>
std::vector<WorkerEvent> ReadUntil(RubyWorker& worker, Done done) {
  std::vector<WorkerEvent> seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{worker.event_fd(), POLLIN, 0};
    if (poll(&fd, 1, 1000) <= 0) continue;
    std::vector<Result<WorkerEvent>> events;
    bool open = worker.ReadEvents(&events);
    for (auto& e : events) {
      REQUIRE(e.ok());
      seen.push_back(*e);
      if (done(seen.back())) return seen;
    }
    if (!open) break;
  }
  return seen;
}

template <typename T>
bool Is(const WorkerEvent& e) { return std::holds_alternative<T>(e); }

template <typename T>
std::vector<T> All(const std::vector<WorkerEvent>& events) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (auto* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

}  // namespace

TEST_CASE("TEST_ENV_NUMBER follows parallel_tests: empty for slot 1, then the slot number") {
  CHECK(TestEnvNumber(1, false) == "");
  CHECK(TestEnvNumber(2, false) == "2");
  CHECK(TestEnvNumber(1, true) == "1");
}

TEST_CASE("a worker boots once and runs each file in a child, with the slot's environment") {
  testing::TempDir scratch;
  setenv("EXPECTED_TEST_ENV_NUMBER", "3", 1);
  setenv("EXPECTED_SLOT", "3", 1);
  WorkerConfig config = Config("worker_project", scratch);
  config.isolation = Isolation::kFork;
  RubyWorker worker(3, config);
  REQUIRE(worker.Start().ok());
  auto boot = ReadUntil(worker, [](const WorkerEvent& e) { return Is<BootedEvent>(e) || Is<BootFailedEvent>(e); });
  REQUIRE(!boot.empty());
  REQUIRE(Is<BootedEvent>(boot.back()));

  REQUIRE(worker.Run(1, "spec/env_spec.rb", {}).ok());
  auto events = ReadUntil(worker, [](const WorkerEvent& e) { return Is<FinishedEvent>(e); });
  auto examples = All<ExampleEvent>(events);
  REQUIRE(examples.size() == 2);
  for (const auto& e : examples) {
    INFO(e.example.full_description << " " << (e.example.exception ? e.example.exception->message : ""));
    CHECK(e.example.status == ExampleStatus::kPassed);
  }
  auto started = All<StartedEvent>(events);
  REQUIRE(started.size() == 1);
  CHECK(started[0].pid != worker.pid());
  auto finished = All<FinishedEvent>(events);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].unit == 1);
  CHECK(finished[0].errors_outside == 0);
  CHECK(All<GroupEvent>(events).at(0).group.description == "The slot's environment");
  worker.Stop();
  CHECK_FALSE(worker.running());
}

TEST_CASE("a child that segfaults is reported with its signal and output, and the worker carries on") {
  testing::TempDir scratch;
  WorkerConfig config = Config("worker_project", scratch);
  config.isolation = Isolation::kFork;
  RubyWorker worker(1, config);
  REQUIRE(worker.Start().ok());
  ReadUntil(worker, [](const WorkerEvent& e) { return Is<BootedEvent>(e); });
  REQUIRE(worker.Run(1, "spec/segv_spec.rb", {}).ok());
  auto crashed = All<ChildExitedEvent>(ReadUntil(worker, [](const WorkerEvent& e) { return Is<ChildExitedEvent>(e); }));
  REQUIRE(crashed.size() == 1);
  // Ruby turns SIGSEGV into a [BUG] report and abort(): the child dies by a signal either way.
  REQUIRE(crashed[0].signal);
  CHECK((*crashed[0].signal == 11 || *crashed[0].signal == 6));
  CHECK_FALSE(crashed[0].exit_code);
  CHECK_THAT(crashed[0].output, Catch::Contains("about to crash"));
  CHECK_THAT(crashed[0].output, Catch::Contains("Segmentation fault"));

  REQUIRE(worker.Run(2, "spec/pass_spec.rb", {}).ok());
  auto next = ReadUntil(worker, [](const WorkerEvent& e) { return Is<FinishedEvent>(e); });
  CHECK(All<ExampleEvent>(next).size() == 1);
  CHECK(All<FinishedEvent>(next).at(0).errors_outside == 0);
  CHECK(All<ChildExitedEvent>(next).empty());  // a child that finished its unit is no news
}

TEST_CASE("reset isolation runs file after file in one reused child, re-forked after a crash") {
  testing::TempDir scratch;
  WorkerConfig config = Config("worker_project", scratch);
  config.isolation = Isolation::kReset;
  RubyWorker worker(1, config);
  REQUIRE(worker.Start().ok());
  ReadUntil(worker, [](const WorkerEvent& e) { return Is<BootedEvent>(e); });
  auto run = [&](int unit, const std::string& file) {
    REQUIRE(worker.Run(unit, file, {}).ok());
    return ReadUntil(worker, [](const WorkerEvent& e) { return Is<FinishedEvent>(e) || Is<ChildExitedEvent>(e); });
  };
  auto first = run(1, "spec/leak_spec.rb");
  auto second = run(2, "spec/pass_spec.rb");
  const int child = All<StartedEvent>(first).at(0).pid;
  CHECK(child != worker.pid());                             // the booted parent stays pristine
  CHECK(All<StartedEvent>(second).at(0).pid == child);      // one child serves both files
  CHECK_THAT(All<FinishedEvent>(first).at(0).output, Catch::Contains("run 1 in"));
  CHECK(All<ExampleEvent>(second).size() == 1);             // only that file's examples

  REQUIRE(worker.Run(3, "spec/segv_spec.rb", {}).ok());
  auto crash = ReadUntil(worker, [](const WorkerEvent& e) { return Is<ChildExitedEvent>(e); });
  CHECK(All<ChildExitedEvent>(crash).at(0).signal);
  CHECK(All<ChildExitedEvent>(crash).at(0).pid == child);
  auto after = run(4, "spec/leak_spec.rb");
  CHECK(All<StartedEvent>(after).at(0).pid != child);       // a fresh fork after the crash
  CHECK_THAT(All<FinishedEvent>(after).at(0).output, Catch::Contains("run 1 in"));  // from the pristine parent
}

TEST_CASE("a helper that raises at boot is a boot failure naming the error") {
  testing::TempDir scratch;
  RubyWorker worker(1, Config("broken_helper", scratch));
  REQUIRE(worker.Start().ok());
  auto events = ReadUntil(worker, [](const WorkerEvent& e) { return Is<BootedEvent>(e) || Is<BootFailedEvent>(e); });
  REQUIRE(!events.empty());
  REQUIRE(Is<BootFailedEvent>(events.back()));
  // As rspec prints it: which file failed to load, and the exception.
  const std::string error = std::get<BootFailedEvent>(events.back()).error;
  CHECK_THAT(error, Catch::Contains("An error occurred while loading"));
  CHECK_THAT(error, Catch::Contains("the helper is broken on purpose"));
}
