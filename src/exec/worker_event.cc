#include "exec/worker_event.h"

#include <nlohmann/json.hpp>

namespace specswarm::exec {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
T Num(const json& j, const char* key, T fallback = T()) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<T>() : fallback;
}

std::optional<int> OptInt(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

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
  e.line_number = Num<int>(j, "line_number");
  e.run_time = Num<double>(j, "run_time");
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
  if (type == "started") return WorkerEvent{StartedEvent{Num<int>(j, "unit"), Num<int>(j, "pid")}};
  if (type == "finished") {
    return WorkerEvent{FinishedEvent{Num<int>(j, "unit"), OptInt(j, "exit"), OptInt(j, "signal"),
                                     Str(j, "output")}};
  }
  if (type == "message") return WorkerEvent{MessageEvent{Str(j, "text")}};
  if (type == "summary") {
    return WorkerEvent{SummaryEvent{Num<int>(j, "errors_outside"), Num<double>(j, "load_time")}};
  }
  if (type == "booted") return WorkerEvent{BootedEvent{Num<int>(j, "pid"), Num<double>(j, "boot_time")}};
  if (type == "boot_failed") {
    return WorkerEvent{BootFailedEvent{Str(j, "error"), Str(j, "backtrace")}};
  }
  return Status::Error("worker sent an event of unknown type '" + type + "'");
}

}  // namespace specswarm::exec
