#include "cli/report_files.h"

#include "base/atomic_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/console_report.h"

namespace specswarm::cli {
namespace {

std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': case '\t': case '\r': out += static_cast<char>(c); break;
      default:
        // XML 1.0 forbids most control characters even escaped; ANSI colour codes included.
        if (c < 0x20) break;
        out += static_cast<char>(c);
    }
  }
  return out;
}

// "./spec/models/user_spec.rb" -> "spec.models.user_spec", as rspec_junit_formatter names it.
std::string ClassName(std::string file) {
  if (file.rfind("./", 0) == 0) file = file.substr(2);
  if (file.size() > 3 && file.compare(file.size() - 3, 3, ".rb") == 0) file.resize(file.size() - 3);
  for (char& c : file) {
    if (c == '/') c = '.';
  }
  return file;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", s);
  return buf;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

std::string JunitXml(const node::RunReport& report, const std::string& hostname) {
  const node::RunTotals t = report.Totals();
  std::string cases;
  for (const auto& unit : report.units()) {
    for (const auto& e : unit.examples) {
      cases += "    <testcase classname=\"" + XmlEscape(ClassName(e.file_path)) + "\" name=\"" +
               XmlEscape(e.full_description) + "\" file=\"" + XmlEscape(e.file_path) +
               "\" time=\"" + Seconds(e.run_time) + "\"";
      if (e.status == exec::ExampleStatus::kPassed) {
        cases += "/>\n";
        continue;
      }
      cases += ">\n";
      if (e.status == exec::ExampleStatus::kPending) {
        cases += "      <skipped message=\"" + XmlEscape(e.pending_message.value_or("")) + "\"/>\n";
      } else {
        const std::string type = e.exception ? e.exception->class_name : "RSpec failure";
        const std::string message = e.exception ? e.exception->message : "";
        cases += "      <failure type=\"" + XmlEscape(type) + "\" message=\"" + XmlEscape(message) +
                 "\">" + XmlEscape(Join(e.block)) + "</failure>\n";
      }
      cases += "      <system-out>" + XmlEscape(e.host.empty() ? "" : e.host + " ") + "slot " + std::to_string(e.slot) +
               "</system-out>\n    </testcase>\n";
    }
    if (unit.errors_outside_examples > 0) {
      std::string detail = Join(unit.messages);
      if (!unit.problem.empty()) detail += unit.problem + "\n" + unit.output;
      cases += "    <testcase classname=\"" + XmlEscape(ClassName(unit.file)) +
               "\" name=\"error outside of examples in " + XmlEscape(unit.file) + "\" file=\"./" +
               XmlEscape(unit.file) + "\" time=\"" + Seconds(unit.wall_time) + "\">\n" +
               "      <error type=\"" + (unit.problem.empty() ? "LoadError" : "WorkerError") +
               "\" message=\"" + XmlEscape(unit.problem.empty() ? "error outside of examples" : unit.problem) +
               "\">" + XmlEscape(detail) + "</error>\n    </testcase>\n";
    }
  }
  const std::string counts = "tests=\"" + std::to_string(t.examples + t.errors_outside) +
                             "\" failures=\"" + std::to_string(t.failures) + "\" errors=\"" +
                             std::to_string(t.errors_outside) + "\" skipped=\"" +
                             std::to_string(t.pending) + "\" time=\"" + Seconds(report.wall_time) + "\"";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rspec\" " + counts +
         ">\n  <testsuite name=\"rspec\" " + counts + " hostname=\"" + XmlEscape(hostname) +
         "\">\n" + cases + "  </testsuite>\n</testsuites>\n";
}

std::string RspecJson(const node::RunReport& report, const std::string& hostname) {
  using nlohmann::json;
  json examples = json::array();
  json messages = json::array();
  for (const auto& unit : report.units()) {
    for (const auto& m : unit.messages) messages.push_back(m);
    if (!unit.problem.empty()) messages.push_back(unit.file + ": " + unit.problem);
    for (const auto& e : unit.examples) {
      json j = {{"id", e.id},
                {"description", e.description},
                {"full_description", e.full_description},
                {"status", exec::StatusName(e.status)},
                {"file_path", e.file_path},
                {"line_number", e.line_number},
                {"run_time", e.run_time},
                {"pending_message", e.pending_message ? json(*e.pending_message) : json(nullptr)},
                {"slot", e.slot},
                {"host", e.host.empty() ? hostname : e.host}};
      if (e.exception) {
        j["exception"] = {{"class", e.exception->class_name},
                          {"message", e.exception->message},
                          {"backtrace", e.exception->backtrace}};
      }
      examples.push_back(std::move(j));
    }
  }
  const node::RunTotals t = report.Totals();
  json doc = {{"version", "3.12.0"},
              {"examples", std::move(examples)},
              {"summary",
               {{"duration", report.wall_time},
                {"example_count", t.examples},
                {"failure_count", t.failures},
                {"pending_count", t.pending},
                {"errors_outside_of_examples_count", t.errors_outside}}},
              {"summary_line", TotalsLine(t)}};
  if (!messages.empty()) doc["messages"] = std::move(messages);
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Status WriteReportFile(const std::string& path, const std::string& content) {
  return WriteFileAtomically(path, content);
}

}  // namespace specswarm::cli
