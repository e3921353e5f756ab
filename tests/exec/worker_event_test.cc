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

TEST_CASE("a finished event tells a signal from an exit code") {
  auto crashed = ParseWorkerEvent(R"({"t":"finished","unit":3,"exit":null,"signal":11,"output":"x"})");
  REQUIRE(crashed.ok());
  const auto& f = std::get<FinishedEvent>(*crashed);
  CHECK(f.unit == 3);
  CHECK_FALSE(f.exit_code);
  CHECK(f.signal == 11);
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
