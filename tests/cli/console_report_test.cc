#include <catch2/catch.hpp>
#include <cstdio>

#include "cli/console_report.h"
#include "test_support.h"

using namespace specswarm;

TEST_CASE("the totals line reads like rspec's") {
  CHECK(cli::TotalsLine({1, 0, 0, 0}) == "1 example, 0 failures");
  CHECK(cli::TotalsLine({12, 1, 2, 0}) == "12 examples, 1 failure, 2 pending");
  CHECK(cli::TotalsLine({0, 0, 0, 1}) == "0 examples, 0 failures, 1 error occurred outside of examples");
  CHECK(cli::TotalsLine({3, 2, 0, 2}) == "3 examples, 2 failures, 2 errors occurred outside of examples");
}

TEST_CASE("durations read like rspec's") {
  CHECK(cli::FormatDuration(0.01234) == "0.01234 seconds");
  CHECK(cli::FormatDuration(1.5) == "1.5 seconds");
  CHECK(cli::FormatDuration(1) == "1 second");
  CHECK(cli::FormatDuration(65.25) == "1 minute 5.25 seconds");
}

TEST_CASE("failure blocks are renumbered, stay aligned and name their slot") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/out.txt";
  std::FILE* out = std::fopen(path.c_str(), "w");
  cli::ConsoleReport console(out, cli::ConsoleFormat::kProgress, /*color=*/false, /*first_is_1=*/false);
  node::RunReport report;
  exec::UnitResult unit;
  for (int i = 1; i <= 10; ++i) {
    exec::ExampleResult e;
    e.status = exec::ExampleStatus::kFailed;
    e.full_description = "Thing " + std::to_string(i);
    e.rerun = "./spec/thing_spec.rb:" + std::to_string(i);
    e.block = {"  1) Thing " + std::to_string(i), "     Failure/Error: boom", "     # ./spec/thing_spec.rb:1"};
    e.slot = i % 2 + 1;
    unit.examples.push_back(e);
    console.OnExample(e);
  }
  report.Add(unit);
  report.slots = 2;
  console.PrintSummary(report);
  std::fclose(out);
  const std::string text = testing::ReadFile(path);
  CHECK_THAT(text, Catch::StartsWith("FFFFFFFFFF\n"));
  CHECK_THAT(text, Catch::Contains("  1) Thing 1\n     Failure/Error: boom\n     # ./spec/thing_spec.rb:1\n     # ran on slot 2 (TEST_ENV_NUMBER=\"2\")\n"));
  CHECK_THAT(text, Catch::Contains("  10) Thing 10\n      Failure/Error: boom\n"));
  CHECK_THAT(text, Catch::Contains("# ran on slot 1 (TEST_ENV_NUMBER=\"\")"));
  CHECK_THAT(text, Catch::Contains("10 examples, 10 failures\n"));
  CHECK_THAT(text, Catch::Contains("Failed examples:\n\nrspec ./spec/thing_spec.rb:1 # Thing 1\n"));
}

namespace {

exec::UnitResult TimedUnit(const std::string& file, double wall_time, exec::ExampleStatus status) {
  exec::UnitResult unit;
  unit.file = file;
  unit.wall_time = wall_time;
  exec::ExampleResult e;
  e.status = status;
  e.full_description = file + " works";
  e.rerun = "./" + file + ":3";
  e.block = {"  1) " + file + " works", "     Failure/Error: boom"};
  unit.examples.push_back(e);
  return unit;
}

std::string Summary(const node::RunReport& report) {
  testing::TempDir dir;
  const std::string path = dir.str() + "/out.txt";
  std::FILE* out = std::fopen(path.c_str(), "w");
  cli::ConsoleReport console(out, cli::ConsoleFormat::kProgress, /*color=*/false, /*first_is_1=*/false);
  console.PrintSummary(report);
  std::fclose(out);
  return testing::ReadFile(path);
}

}  // namespace

TEST_CASE("the speedup line adds up the units' times and sets them against the run's") {
  node::RunReport report;
  report.Add(TimedUnit("spec/a_spec.rb", 4.0, exec::ExampleStatus::kPassed));
  report.Add(TimedUnit("spec/b_spec.rb", 5.25, exec::ExampleStatus::kPassed));
  report.Add(TimedUnit("spec/c_spec.rb", 3.15, exec::ExampleStatus::kPassed));
  report.slots = 4;
  report.wall_time = 3.3;
  CHECK(cli::SpeedupLine(report) == "12.4 s of specs in 3.3 s on 4 slots (3.8x)");
  report.slots = 1;
  report.wall_time = 12.9;
  CHECK(cli::SpeedupLine(report) == "12.4 s of specs in 12.9 s on 1 slot (1.0x)");
  CHECK(cli::SpeedupLine(node::RunReport()) == "");  // nothing ran: no line
}

TEST_CASE("the speedup line is the last line, after rspec's totals line left as it was") {
  node::RunReport report;
  report.Add(TimedUnit("spec/a_spec.rb", 2.0, exec::ExampleStatus::kPassed));
  report.Add(TimedUnit("spec/b_spec.rb", 2.0, exec::ExampleStatus::kPassed));
  report.slots = 2;
  report.wall_time = 2.5;
  CHECK_THAT(Summary(report), Catch::EndsWith("\n2 examples, 0 failures\n4.0 s of specs in 2.5 s on 2 slots (1.6x)\n"));

  report.Add(TimedUnit("spec/c_spec.rb", 1.0, exec::ExampleStatus::kFailed));
  CHECK_THAT(Summary(report), Catch::EndsWith(
      "\n3 examples, 1 failure\n\nFailed examples:\n\nrspec ./spec/c_spec.rb:3 # spec/c_spec.rb works\n"
      "\n5.0 s of specs in 2.5 s on 2 slots (2.0x)\n"));

  node::RunReport empty;  // e.g. every file was filtered out: the summary ends with the totals
  empty.slots = 2;
  empty.wall_time = 0.5;
  CHECK_THAT(Summary(empty), Catch::EndsWith("\n0 examples, 0 failures\n"));
}
