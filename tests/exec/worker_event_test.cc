#include <catch2/catch.hpp>

#include "exec/worker_event.h"

using namespace specswarm::exec;

TEST_CASE("an example event carries RSpec's structured result") {
  auto event = ParseWorkerEvent(
      R"({"t":"example","id":"./spec/a_spec.rb[1:2]","description":"works","full_description":"A works",)"
      R"("status":"failed","file_path":"./spec/a_spec.rb","line_number":7,"run_time":0.5,"pending_message":null,)"
      R"("exception":{"class":"RuntimeError","message":"boom","backtrace":["a.rb:1"]},)"
      R"("block":["  1) A works","     boom"],"rerun":"./spec/a_spec.rb:7"})");
  REQUIRE(event.ok());
  const auto& e = std::get<ExampleEvent>(*event).example;
  CHECK(e.id == "./spec/a_spec.rb[1:2]");
  CHECK(e.status == ExampleStatus::kFailed);
  CHECK(e.line_number == 7);
  CHECK_FALSE(e.pending_message);
  REQUIRE(e.exception);
  CHECK(e.exception->class_name == "RuntimeError");
  CHECK(e.exception->backtrace == std::vector<std::string>{"a.rb:1"});
  CHECK(e.block.size() == 2);
  CHECK(e.rerun == "./spec/a_spec.rb:7");
}

TEST_CASE("a child that died tells a signal from an exit code") {
  auto crashed = ParseWorkerEvent(R"({"t":"child_exited","pid":42,"exit":null,"signal":11,"output":"x"})");
  REQUIRE(crashed.ok());
  const auto& c = std::get<ChildExitedEvent>(*crashed);
  CHECK(c.pid == 42);
  CHECK_FALSE(c.exit_code);
  CHECK(c.signal == 11);
  CHECK(c.output == "x");
}

TEST_CASE("a finished unit carries its errors outside of examples") {
  auto finished = ParseWorkerEvent(R"({"t":"finished","unit":3,"errors_outside":1,"output":""})");
  REQUIRE(finished.ok());
  CHECK(std::get<FinishedEvent>(*finished).unit == 3);
  CHECK(std::get<FinishedEvent>(*finished).errors_outside == 1);
}

TEST_CASE("booted carries RSpec's load-time messages and the example status file") {
  auto booted = ParseWorkerEvent(
      R"({"t":"booted","pid":7,"boot_time":1.5,"messages":["Run options: include {:focus=>true}"],"status_path":"spec/examples.txt"})");
  REQUIRE(booted.ok());
  const auto& b = std::get<BootedEvent>(*booted);
  CHECK(b.messages == std::vector<std::string>{"Run options: include {:focus=>true}"});
  CHECK(b.status_path == "spec/examples.txt");
}

TEST_CASE("numbers out of an int's range are dropped, not converted") {
  for (const char* line : {R"({"t":"started","unit":1e300,"pid":99999999999999999999})",
                           R"({"t":"started","unit":-9223372036854775808,"pid":4294967296})"}) {
    auto event = ParseWorkerEvent(line);
    REQUIRE(event.ok());
    CHECK(std::get<StartedEvent>(*event).unit == 0);
    CHECK(std::get<StartedEvent>(*event).pid == 0);
  }
}

TEST_CASE("an exit status or signal out of an int's range is absent, not 0") {
  auto event = ParseWorkerEvent(R"({"t":"child_exited","pid":42,"exit":4294967296,"signal":-9223372036854775808})");
  REQUIRE(event.ok());
  const auto& c = std::get<ChildExitedEvent>(*event);
  CHECK(c.pid == 42);
  CHECK_FALSE(c.exit_code);
  CHECK_FALSE(c.signal);
  auto huge = ParseWorkerEvent(R"({"t":"child_exited","pid":18446744073709551615,"exit":2147483648,"signal":9})");
  REQUIRE(huge.ok());
  CHECK(std::get<ChildExitedEvent>(*huge).pid == 0);
  CHECK_FALSE(std::get<ChildExitedEvent>(*huge).exit_code);
  CHECK(std::get<ChildExitedEvent>(*huge).signal == 9);
}

TEST_CASE("garbage on the result channel is an error value, not a crash") {
  CHECK_FALSE(ParseWorkerEvent("not json").ok());
  CHECK_FALSE(ParseWorkerEvent("[1,2]").ok());
  CHECK_FALSE(ParseWorkerEvent(R"({"t":"launch_missiles"})").ok());
  // Wrong types in known events degrade to defaults.
  auto odd = ParseWorkerEvent(R"({"t":"example","id":5,"status":"weird","line_number":"x"})");
  REQUIRE(odd.ok());
  CHECK(std::get<ExampleEvent>(*odd).example.id.empty());
}
