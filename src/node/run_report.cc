#include "node/run_report.h"

namespace specswarm::node {

using exec::ExampleStatus;

void RunReport::Add(exec::UnitResult unit) { units_.push_back(std::move(unit)); }

RunTotals RunReport::Totals() const {
  RunTotals totals;
  for (const auto& unit : units_) {
    totals.examples += static_cast<int>(unit.examples.size());
    totals.failures += unit.CountStatus(ExampleStatus::kFailed);
    totals.pending += unit.CountStatus(ExampleStatus::kPending);
    totals.errors_outside += unit.errors_outside_examples;
  }
  return totals;
}

std::vector<const exec::ExampleResult*> RunReport::Failures() const {
  std::vector<const exec::ExampleResult*> out;
  for (const auto& unit : units_) {
    for (const auto& e : unit.examples) {
      if (e.status == ExampleStatus::kFailed) out.push_back(&e);
    }
  }
  return out;
}

std::vector<const exec::ExampleResult*> RunReport::Pending() const {
  std::vector<const exec::ExampleResult*> out;
  for (const auto& unit : units_) {
    for (const auto& e : unit.examples) {
      if (e.status == ExampleStatus::kPending) out.push_back(&e);
    }
  }
  return out;
}

std::vector<const exec::UnitResult*> RunReport::Errors() const {
  std::vector<const exec::UnitResult*> out;
  for (const auto& unit : units_) {
    if (unit.errors_outside_examples > 0) out.push_back(&unit);
  }
  return out;
}

bool RunReport::Passed() const {
  RunTotals t = Totals();
  return boot_error.empty() && !interrupted && t.failures == 0 && t.errors_outside == 0;
}

void RunReport::StampHost(const std::string& host) {
  for (auto& unit : units_) {
    if (unit.host.empty()) unit.host = host;
    for (auto& e : unit.examples) {
      if (e.host.empty()) e.host = host;
    }
  }
}

}  // namespace specswarm::node
