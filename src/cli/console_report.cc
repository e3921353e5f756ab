#include "cli/console_report.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

#include "exec/ruby_worker.h"

namespace specswarm::cli {
namespace {

constexpr const char* kRed = "31";
constexpr const char* kGreen = "32";
constexpr const char* kYellow = "33";
constexpr const char* kCyan = "36";

std::string Plural(int n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string StripZeros(std::string number) {
  if (number.find('.') == std::string::npos) return number;
  while (!number.empty() && number.back() == '0') number.pop_back();
  if (!number.empty() && number.back() == '.') number.pop_back();
  return number;
}

int Depth(const std::string& id) {
  int colons = 0;
  for (char c : id.substr(id.rfind('[') == std::string::npos ? 0 : id.rfind('['))) colons += c == ':';
  return colons;
}

// "slot 2" on this machine, "build-07 slot 2" on a peer.
std::string Where(const std::string& host, int slot) {
  return (host.empty() ? "" : host + " ") + "slot " + std::to_string(slot);
}

}  // namespace

std::string FormatDuration(double seconds) {
  char buf[64];
  if (seconds >= 60) {
    int minutes = static_cast<int>(seconds / 60);
    std::snprintf(buf, sizeof buf, "%.2f", seconds - minutes * 60);
    return Plural(minutes, "minute") + " " + StripZeros(buf) + " seconds";
  }
  std::snprintf(buf, sizeof buf, seconds >= 1 ? "%.2f" : "%.5f", seconds);
  std::string text = StripZeros(buf);
  return text + (text == "1" ? " second" : " seconds");
}

std::string TotalsLine(const node::RunTotals& t) {
  std::string line = Plural(t.examples, "example") + ", " + Plural(t.failures, "failure");
  if (t.pending > 0) line += ", " + std::to_string(t.pending) + " pending";
  if (t.errors_outside > 0) {
    line += ", " + Plural(t.errors_outside, "error") +
            " occurred outside of examples";
  }
  return line;
}

std::string SpeedupLine(const node::RunReport& report) {
  double serial = 0;
  for (const auto& unit : report.units()) serial += unit.wall_time;
  if (serial <= 0 || report.wall_time <= 0) return "";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.1f s of specs in %.1f s on %s (%.1fx)", serial, report.wall_time,
                Plural(report.slots, "slot").c_str(), serial / report.wall_time);
  return buf;
}

ConsoleReport::ConsoleReport(std::FILE* out, ConsoleFormat format, bool color, bool first_is_1)
    : out_(out), format_(format), color_(color), first_is_1_(first_is_1) {
  live_ = format_ == ConsoleFormat::kProgress && isatty(fileno(out_));
}

void ConsoleReport::Progress(const std::string& glyph) {
  progress_started_ = true;
  std::fputs(glyph.c_str(), out_);
  ++column_;
  DrawLive();
  std::fflush(out_);
}

// Saves the cursor after the last glyph, writes the live text, and puts the cursor back, so
// the next glyph lands where it belongs. Only when the text fits on the line: a wrap would
// scroll the terminal and the saved position with it.
void ConsoleReport::DrawLive() {
  if (!live_ || live_text_.empty()) return;
  winsize size{};
  const int columns = ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  const int at = column_ % columns;
  std::fputs("\033[K", out_);
  if (at + 2 + static_cast<int>(live_text_.size()) >= columns) return;
  std::fputs(("\0337 " + Paint(live_text_, "2") + "\0338").c_str(), out_);
}

void ConsoleReport::ClearLive() {
  if (!live_) return;
  std::fputs("\033[K", out_);
  std::fflush(out_);
}

void ConsoleReport::OnProgress(const std::vector<node::HostProgress>& hosts) {
  if (!live_) return;
  std::string text;
  for (const auto& h : hosts) {
    text += (text.empty() ? "[" : " | ") + h.host + " " + Plural(h.files_done, "file") + ", " +
            std::to_string(h.busy) + "/" + std::to_string(h.slots) + " busy";
  }
  live_text_ = text.empty() ? "" : text + "]";
  DrawLive();
  std::fflush(out_);
}

std::string ConsoleReport::Paint(const std::string& text, const char* code) const {
  if (!color_) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

// RSpec's own load-time messages ("Run options: include {:focus=>true}"), once, where rspec
// prints them: before the first result.
void ConsoleReport::OnBooted(const std::vector<std::string>& messages) {
  for (const auto& message : messages) std::fprintf(out_, "%s\n", message.c_str());
  std::fflush(out_);
}

void ConsoleReport::OnExample(const exec::ExampleResult& example) {
  if (format_ != ConsoleFormat::kProgress) return;
  switch (example.status) {
    case exec::ExampleStatus::kPassed: Progress(Paint(".", kGreen)); break;
    case exec::ExampleStatus::kFailed: Progress(Paint("F", kRed)); break;
    case exec::ExampleStatus::kPending: Progress(Paint("*", kYellow)); break;
  }
}

void ConsoleReport::OnUnitFinished(const exec::UnitResult& unit) {
  if (format_ == ConsoleFormat::kDocumentation) {
    PrintOutline(unit);
  } else if (unit.outcome != exec::UnitOutcome::kCompleted || unit.errors_outside_examples > 0) {
    Progress(Paint("E", kRed));
  }
}

void ConsoleReport::OnNotice(const std::string& line) {
  ClearLive();
  if (progress_started_) column_ = 0;  // the notice starts a new line
  std::fprintf(stderr, "%sspecswarm: %s\n", progress_started_ ? "\n" : "", line.c_str());
}

void ConsoleReport::PrintOutline(const exec::UnitResult& unit) {
  std::string text = "\n";
  for (int entry : unit.outline) {
    if (entry >= 0) {
      const auto& group = unit.groups[static_cast<size_t>(entry)];
      text += std::string(static_cast<size_t>(2 * Depth(group.id)), ' ') + group.description + "\n";
      continue;
    }
    const auto& e = unit.examples[static_cast<size_t>(~entry)];
    std::string indent(static_cast<size_t>(2 * Depth(e.id)), ' ');
    switch (e.status) {
      case exec::ExampleStatus::kPassed: text += indent + Paint(e.description, kGreen) + "\n"; break;
      case exec::ExampleStatus::kFailed:
        text += indent + Paint(e.description + " (FAILED - " + std::to_string(++failures_seen_) + ")", kRed) + "\n";
        break;
      case exec::ExampleStatus::kPending:
        text += indent + Paint(e.description + " (PENDING: " + e.pending_message.value_or("No reason given") + ")", kYellow) + "\n";
        break;
    }
  }
  if (unit.outcome != exec::UnitOutcome::kCompleted) {
    text += Paint(unit.file + " did not finish on " + Where(unit.host, unit.slot) + ": " + unit.problem, kRed) + "\n";
  }
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
}

void ConsoleReport::PrintBlock(const std::vector<std::string>& block, int number, const char* color) {
  // RSpec numbered the block "1)"; renumber it and keep the text aligned under the number.
  const std::string number_text = std::to_string(number);
  const std::string extra(number_text.size() - 1, ' ');
  for (size_t i = 0; i < block.size(); ++i) {
    std::string line = block[i];
    if (i == 0) {
      auto paren = line.find(") ");
      if (paren != std::string::npos) line = "  " + number_text + line.substr(paren);
      std::fprintf(out_, "%s\n", Paint(line, color == kYellow ? kYellow : "0").c_str());
      continue;
    }
    if (!line.empty()) line = extra + line;
    bool comment = line.find_first_not_of(' ') != std::string::npos &&
                   line[line.find_first_not_of(' ')] == '#';
    std::fprintf(out_, "%s\n", line.empty() ? "" : Paint(line, comment ? kCyan : color).c_str());
  }
}

void ConsoleReport::PrintErrorsOutside(const node::RunReport& report) {
  for (const auto* unit : report.Errors()) {
    for (const auto& message : unit->messages) {
      std::fprintf(out_, "\n%s\n", message.c_str());
    }
    if (unit->outcome != exec::UnitOutcome::kCompleted) {
      std::string where = unit->file;
      for (const auto& id : unit->ids) where += " " + id;
      std::fprintf(out_, "\n%s\n", Paint("An error occurred while running " + where + " on " +
                                             Where(unit->host, unit->slot) + ":", kRed).c_str());
      std::fprintf(out_, "%s\n", Paint("  " + unit->problem, kRed).c_str());
      if (!unit->output.empty()) {
        std::fprintf(out_, "  Its output:\n");
        size_t start = 0;
        while (start < unit->output.size()) {
          size_t nl = unit->output.find('\n', start);
          if (nl == std::string::npos) nl = unit->output.size();
          std::fprintf(out_, "    %s\n", unit->output.substr(start, nl - start).c_str());
          start = nl + 1;
        }
      }
    }
  }
}

void ConsoleReport::PrintPending(const node::RunReport& report) {
  auto pending = report.Pending();
  if (pending.empty()) return;
  std::fprintf(out_, "\nPending: (Failures listed here are expected and do not affect your suite's status)\n");
  int number = 0;
  for (const auto* e : pending) {
    std::fprintf(out_, "\n");
    if (e->block.empty()) {
      std::fprintf(out_, "  %d) %s\n", ++number, e->full_description.c_str());
      continue;
    }
    PrintBlock(e->block, ++number, kYellow);
  }
}

void ConsoleReport::PrintFailures(const node::RunReport& report) {
  auto failures = report.Failures();
  if (failures.empty()) return;
  std::fprintf(out_, "\nFailures:\n");
  int number = 0;
  for (const auto* e : failures) {
    std::fprintf(out_, "\n");
    PrintBlock(e->block, ++number, kRed);
    const std::string env = exec::TestEnvNumber(e->slot, first_is_1_);
    std::string indent(4 + std::to_string(number).size(), ' ');
    std::fprintf(out_, "%s\n", Paint(indent + "# ran on " + Where(e->host, e->slot) +
                                         " (TEST_ENV_NUMBER=\"" + env + "\")", kCyan).c_str());
  }
}

void ConsoleReport::PrintSummary(const node::RunReport& report) {
  ClearLive();
  if (progress_started_ || format_ == ConsoleFormat::kProgress) std::fprintf(out_, "\n");
  PrintErrorsOutside(report);
  PrintPending(report);
  PrintFailures(report);
  const node::RunTotals totals = report.Totals();
  std::fprintf(out_, "\nFinished in %s (slowest slot took %s to boot, %d slot%s)\n",
               FormatDuration(report.wall_time).c_str(), FormatDuration(report.slowest_boot).c_str(),
               report.slots, report.slots == 1 ? "" : "s");
  const char* color = totals.failures || totals.errors_outside ? kRed : totals.pending ? kYellow : kGreen;
  std::fprintf(out_, "%s\n", Paint(TotalsLine(totals), color).c_str());
  if (report.not_run > 0) {
    std::fprintf(out_, "%s\n", Paint(std::to_string(report.not_run) + " spec file(s) or parts were not run (" +
                                         (report.interrupted ? "interrupted" : "--fail-fast") + ")", kYellow).c_str());
  }
  auto failures = report.Failures();
  if (!failures.empty()) {
    std::fprintf(out_, "\nFailed examples:\n\n");
    for (const auto* e : failures) {
      std::fprintf(out_, "%s %s\n", Paint("rspec " + (e->rerun.empty() ? e->id : e->rerun), kRed).c_str(),
                   Paint("# " + e->full_description, kCyan).c_str());
    }
  }
  const std::string speedup = SpeedupLine(report);
  if (!speedup.empty()) std::fprintf(out_, "%s%s\n", failures.empty() ? "" : "\n", speedup.c_str());
  std::fflush(out_);
}

}  // namespace specswarm::cli
