// The events a Ruby worker writes on its result channel, one JSON object per line (see
// ruby/bin/specswarm_worker.rb for the producer). ParseWorkerEvent turns one line into a typed
// event or a Status saying what was wrong with it; it never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "exec/spec_result.h"

namespace specswarm::exec {

// The parent booted: the project, its helpers and every spec file of the run are loaded.
struct BootedEvent {
  int pid = 0;
  double boot_time = 0;
  std::vector<std::string> messages;  // RSpec's own at load time ("Run options: ...")
  std::string status_path;            // example_status_persistence_file_path, "" when unset
};
// kind "bundler": bundler/setup failed (the bundle is not installed, or the Gemfile is wrong).
struct BootFailedEvent { std::string kind; std::string error; std::string backtrace; };
// The parent forked a child (its own process group) that runs units.
struct ChildEvent { int pid = 0; };
struct StartedEvent { int unit = 0; int pid = 0; };
struct GroupEvent { GroupInfo group; };
struct ExampleEvent { ExampleResult example; };
struct MessageEvent { std::string text; };
// A unit ran to its end in the child.
struct FinishedEvent { int unit = 0; int errors_outside = 0; std::string output; };
// A child ended without being asked to (crash, exit!, a timeout's kill).
struct ChildExitedEvent {
  int pid = 0;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string output;
};
// The reused child ran the after(:suite) hooks at the end of the run.
struct SuiteDoneEvent { int errors_outside = 0; std::vector<std::string> messages; std::string output; };
struct PersistedEvent { std::string error; };  // error: "" when the statuses were written

using WorkerEvent = std::variant<BootedEvent, BootFailedEvent, ChildEvent, StartedEvent, GroupEvent,
                                 ExampleEvent, MessageEvent, FinishedEvent, ChildExitedEvent,
                                 SuiteDoneEvent, PersistedEvent>;

Result<WorkerEvent> ParseWorkerEvent(std::string_view line);

}  // namespace specswarm::exec
