// The events a Ruby worker writes on its result channel, one JSON object per line (see
// ruby/specswarm_worker.rb for the producer). ParseWorkerEvent turns one line into a typed
// event or a Status saying what was wrong with it; it never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "exec/spec_result.h"

namespace specswarm::exec {

struct BootedEvent { int pid = 0; double boot_time = 0; };
struct BootFailedEvent { std::string error; std::string backtrace; };
struct StartedEvent { int unit = 0; int pid = 0; };
struct GroupEvent { GroupInfo group; };
struct ExampleEvent { ExampleResult example; };
struct MessageEvent { std::string text; };
struct SummaryEvent { int errors_outside = 0; double load_time = 0; };
struct FinishedEvent {
  int unit = 0;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string output;
};

using WorkerEvent = std::variant<BootedEvent, BootFailedEvent, StartedEvent, GroupEvent,
                                 ExampleEvent, MessageEvent, SummaryEvent, FinishedEvent>;

Result<WorkerEvent> ParseWorkerEvent(std::string_view line);

}  // namespace specswarm::exec
