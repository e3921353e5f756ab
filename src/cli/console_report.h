// ConsoleReport: what a run prints, in the shape a Ruby developer already reads from `rspec`:
// live progress (dots, or the documentation outline per finished unit), then pending blocks,
// failure blocks as RSpec formats them (message, diff, backtrace) plus the slot that ran each,
// errors outside of examples, "Finished in ...", the totals line and "Failed examples:", then
// one line of specswarm's own: the run next to what one slot would have taken (SpeedupLine).
#pragma once

#include <cstdio>
#include <string>

#include "node/scheduler.h"
#include "node/run_report.h"

namespace specswarm::cli {

enum class ConsoleFormat { kProgress, kDocumentation };

class ConsoleReport : public node::RunObserver {
 public:
  ConsoleReport(std::FILE* out, ConsoleFormat format, bool color, bool first_is_1);

  void OnBooted(const std::vector<std::string>& messages) override;
  void OnExample(const exec::ExampleResult& example) override;
  void OnUnitFinished(const exec::UnitResult& unit) override;
  void OnNotice(const std::string& line) override;
  // On a terminal, in progress format: one live line after the dots, per host "files done /
  // slots busy", redrawn in place and erased before anything else is printed.
  void OnProgress(const std::vector<node::HostProgress>& hosts) override;

  void PrintSummary(const node::RunReport& report);

 private:
  std::string Paint(const std::string& text, const char* code) const;
  void PrintOutline(const exec::UnitResult& unit);
  void PrintErrorsOutside(const node::RunReport& report);
  void PrintPending(const node::RunReport& report);
  void PrintFailures(const node::RunReport& report);
  void PrintBlock(const std::vector<std::string>& block, int number, const char* color);
  void Progress(const std::string& glyph);
  void DrawLive();
  void ClearLive();

  std::FILE* out_;
  ConsoleFormat format_;
  bool color_;
  bool first_is_1_;
  int failures_seen_ = 0;  // numbers "(FAILED - N)" in the documentation outline
  bool progress_started_ = false;
  bool live_ = false;       // out_ is a terminal and the format is progress
  std::string live_text_;
  int column_ = 0;          // glyphs printed on the current line
};

// RSpec's "3 examples, 1 failure, 1 pending" (with errors outside of examples when any).
std::string TotalsLine(const node::RunTotals& totals);
// The run next to what one slot would have needed, from the times it just measured: the units'
// wall times added up (load time included, boot not) against the run's own wall time, e.g.
// "12.4 s of specs in 3.3 s on 4 slots (3.8x)". Empty when nothing ran.
std::string SpeedupLine(const node::RunReport& report);
// RSpec's duration wording: "1.23 seconds", "0.01234 seconds", "1 minute 5.2 seconds".
std::string FormatDuration(double seconds);

}  // namespace specswarm::cli
