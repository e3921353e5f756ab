#include <catch2/catch.hpp>

#include "node/run_report.h"

using namespace specswarm;
using exec::ExampleStatus;

namespace {
exec::ExampleResult Example(const std::string& id, ExampleStatus status, int slot) {
  exec::ExampleResult e;
  e.id = id;
  e.status = status;
  e.slot = slot;
  return e;
}
}  // namespace

TEST_CASE("a report adds up examples, failures, pending and errors across slots") {
  node::RunReport report;
  exec::UnitResult a;
  a.file = "spec/a_spec.rb";
  a.examples = {Example("./spec/a_spec.rb[1:1]", ExampleStatus::kPassed, 1),
                Example("./spec/a_spec.rb[1:2]", ExampleStatus::kFailed, 1)};
  exec::UnitResult b;
  b.file = "spec/b_spec.rb";
  b.examples = {Example("./spec/b_spec.rb[1:1]", ExampleStatus::kPending, 2),
                Example("./spec/b_spec.rb[1:2]", ExampleStatus::kFailed, 2)};
  exec::UnitResult crashed;
  crashed.file = "spec/c_spec.rb";
  crashed.outcome = exec::UnitOutcome::kCrashed;
  crashed.errors_outside_examples = 1;
  report.Add(a);
  report.Add(b);
  report.Add(crashed);

  node::RunTotals t = report.Totals();
  CHECK(t.examples == 4);
  CHECK(t.failures == 2);
  CHECK(t.pending == 1);
  CHECK(t.errors_outside == 1);
  CHECK_FALSE(report.Passed());
  auto failures = report.Failures();
  REQUIRE(failures.size() == 2);
  CHECK(failures[0]->id == "./spec/a_spec.rb[1:2]");  // in the order results arrived
  CHECK(failures[1]->slot == 2);
  REQUIRE(report.Errors().size() == 1);
  CHECK(report.Errors()[0]->file == "spec/c_spec.rb");
}

TEST_CASE("a report with only passes and pending has passed") {
  node::RunReport report;
  exec::UnitResult a;
  a.examples = {Example("x[1:1]", ExampleStatus::kPassed, 1), Example("x[1:2]", ExampleStatus::kPending, 1)};
  report.Add(a);
  CHECK(report.Passed());
  report.interrupted = true;
  CHECK_FALSE(report.Passed());
}
