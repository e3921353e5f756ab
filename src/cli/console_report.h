// ConsoleReport: what a run prints, in the shape a Ruby developer already reads from `rspec`:
// live progress (dots, or the documentation outline per finished unit), then pending blocks,
// failure blocks as RSpec formats them (message, diff, backtrace) plus the slot that ran each,
// errors outside of examples, "Finished in ...", the totals line and "Failed examples:".
#pragma once

#include <cstdio>
#include <string>

#include "node/coordinator.h"
#include "node/run_report.h"

namespace specswarm::cli {

enum class ConsoleFormat { kProgress, kDocumentation };

class ConsoleReport : public node::RunObserver {
 public:
  ConsoleReport(std::FILE* out, ConsoleFormat format, bool color, bool first_is_1);

  void OnExample(const exec::ExampleResult& example) override;
  void OnUnitFinished(const exec::UnitResult& unit) override;
  void OnNotice(const std::string& line) override;

  void PrintSummary(const node::RunReport& report);

 private:
  std::string Paint(const std::string& text, const char* code) const;
  void PrintOutline(const exec::UnitResult& unit);
  void PrintErrorsOutside(const node::RunReport& report);
  void PrintPending(const node::RunReport& report);
  void PrintFailures(const node::RunReport& report);
  void PrintBlock(const std::vector<std::string>& block, int number, const char* color);

  std::FILE* out_;
  ConsoleFormat format_;
  bool color_;
  bool first_is_1_;
  int failures_seen_ = 0;  // numbers "(FAILED - N)" in the documentation outline
  bool progress_started_ = false;
};

// RSpec's "3 examples, 1 failure, 1 pending" (with errors outside of examples when any).
std::string TotalsLine(const node::RunTotals& totals);
// RSpec's duration wording: "1.23 seconds", "0.01234 seconds", "1 minute 5.2 seconds".
std::string FormatDuration(double seconds);

}  // namespace specswarm::cli
