#include "exec/worker_event.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace specswarm::exec {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Numbers come from another process: one that does not fit is treated as absent, never
// converted (a double or a 64-bit value out of an int's range is undefined behaviour).
std::optional<double> NumberAt(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  double value = it->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

// An integer that does not fit an int is absent, as NumberAt says: never a made-up 0, which a
// child's exit status or signal would report as real.
std::optional<int> OptInt(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
    return static_cast<int>(v);
  }
  auto v = it->get<std::int64_t>();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) return std::nullopt;
  return static_cast<int>(v);
}

int Int(const json& j, const char* key) { return OptInt(j, key).value_or(0); }

double Seconds(const json& j, const char* key) { return NumberAt(j, key).value_or(0); }

std::vector<std::string> Lines(const json& j, const char* key) {
  std::vector<std::string> lines;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return lines;
  for (const auto& line : *it) {
    if (line.is_string()) lines.push_back(line.get<std::string>());
  }
  return lines;
}

ExampleStatus ParseStatus(const std::string& status) {
  if (status == "failed") return ExampleStatus::kFailed;
  if (status == "pending") return ExampleStatus::kPending;
  return ExampleStatus::kPassed;
}

ExampleResult ParseExample(const json& j) {
  ExampleResult e;
  e.id = Str(j, "id");
  e.description = Str(j, "description");
  e.full_description = Str(j, "full_description");
  e.status = ParseStatus(Str(j, "status"));
  e.file_path = Str(j, "file_path");
  e.line_number = Int(j, "line_number");
  e.run_time = Seconds(j, "run_time");
  if (auto it = j.find("pending_message"); it != j.end() && it->is_string()) {
    e.pending_message = it->get<std::string>();
  }
  if (auto it = j.find("exception"); it != j.end() && it->is_object()) {
    e.exception = ExceptionInfo{Str(*it, "class"), Str(*it, "message"), Lines(*it, "backtrace")};
  }
  e.block = Lines(j, "block");
  e.rerun = Str(j, "rerun");
  return e;
}

}  // namespace

Result<WorkerEvent> ParseWorkerEvent(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("worker sent a line that is not a JSON object: " +
                         std::string(line.substr(0, 120)));
  }
  const std::string type = Str(j, "t");
  if (type == "example") return WorkerEvent{ExampleEvent{ParseExample(j)}};
  if (type == "group") {
    auto ctx = j.find("ctx");
    return WorkerEvent{GroupEvent{GroupInfo{Str(j, "id"), Str(j, "description"),
                                            ctx != j.end() && ctx->is_boolean() && ctx->get<bool>()}}};
  }
  if (type == "started") return WorkerEvent{StartedEvent{Int(j, "unit"), Int(j, "pid")}};
  if (type == "child") return WorkerEvent{ChildEvent{Int(j, "pid")}};
  if (type == "finished") {
    return WorkerEvent{FinishedEvent{Int(j, "unit"), Int(j, "errors_outside"), Str(j, "output")}};
  }
  if (type == "child_exited") {
    return WorkerEvent{ChildExitedEvent{Int(j, "pid"), OptInt(j, "exit"), OptInt(j, "signal"), Str(j, "output")}};
  }
  if (type == "message") return WorkerEvent{MessageEvent{Str(j, "text")}};
  if (type == "suite_done") {
    return WorkerEvent{SuiteDoneEvent{Int(j, "errors_outside"), Lines(j, "messages"), Str(j, "output")}};
  }
  if (type == "persisted") return WorkerEvent{PersistedEvent{Str(j, "error")}};
  if (type == "booted") {
    return WorkerEvent{BootedEvent{Int(j, "pid"), Seconds(j, "boot_time"), Lines(j, "messages"), Str(j, "status_path")}};
  }
  if (type == "boot_failed") {
    return WorkerEvent{BootFailedEvent{Str(j, "kind"), Str(j, "error"), Str(j, "backtrace")}};
  }
  return Status::Error("worker sent an event of unknown type '" + type + "'");
}

}  // namespace specswarm::exec
