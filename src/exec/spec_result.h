// What running RSpec produces, as plain data: one ExampleResult per example, one UnitResult per
// unit of work (a spec file, or some of its example groups). Filled from the structured events
// of the Ruby worker (worker_event.h); read by the coordinator, the reports and the history.
// Holds no behaviour beyond small queries, so every module can share it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace specswarm::exec {

enum class ExampleStatus { kPassed, kFailed, kPending };

struct ExceptionInfo {
  std::string class_name;
  std::string message;
  std::vector<std::string> backtrace;
};

struct ExampleResult {
  std::string id;                // RSpec's id: "./spec/a_spec.rb[1:2]"
  std::string description;
  std::string full_description;
  ExampleStatus status = ExampleStatus::kPassed;
  std::string file_path;         // "./spec/a_spec.rb"
  int line_number = 0;
  double run_time = 0;
  std::optional<std::string> pending_message;
  std::optional<ExceptionInfo> exception;
  // RSpec's own failure or pending block, numbered "1)": the console renumbers it.
  std::vector<std::string> block;
  std::string rerun;             // what "Failed examples:" shows after `rspec `
  int slot = 0;                  // which slot ran it (1-based)
  std::string host;              // which node ran it: "" for this machine's own slots
};

// An example group as the worker saw it start: the split planner needs to know which groups
// share state through before(:all)/after(:all) and must stay whole.
struct GroupInfo {
  std::string id;
  std::string description;
  bool has_context_hooks = false;
};

// How a unit ended. Anything but kCompleted is an error outside of examples.
enum class UnitOutcome {
  kCompleted,    // RSpec ran to the end (examples may have failed, files may not have loaded)
  kCrashed,      // the child died: a signal, exit!, or an exit without RSpec's summary
  kTimedOut,     // exceeded the per-unit timeout and was killed
  kWorkerLost,   // the worker process itself went away while running it
  kNotRun,       // no slot could run it (every worker failed)
};

struct UnitResult {
  int unit_id = 0;
  std::string file;                   // project-relative, "spec/a_spec.rb"
  std::vector<std::string> ids;       // empty: the whole file
  int slot = 0;
  UnitOutcome outcome = UnitOutcome::kCompleted;
  std::vector<ExampleResult> examples;
  std::vector<GroupInfo> groups;
  // In event order: a group start (index into groups, >= 0) or an example (~index into examples).
  std::vector<int> outline;
  std::vector<std::string> messages;  // RSpec's messages, e.g. "An error occurred while loading"
  int errors_outside_examples = 0;    // RSpec's count, plus one when the outcome is not kCompleted
  int exit_code = 0;
  std::optional<int> signal;
  std::string output;                 // the child's stdout+stderr (truncated by the worker)
  std::string problem;                // one line for outcomes other than kCompleted
  double wall_time = 0;               // seconds from dispatch to finish, load time included
  std::string host;                   // the node that ran it: "" for this machine's own slots

  bool HasFailures() const;
  int CountStatus(ExampleStatus status) const;
};

const char* StatusName(ExampleStatus status);

}  // namespace specswarm::exec
