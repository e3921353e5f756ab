// RubyWorker: one long-lived Ruby process for one slot. It boots the project once (Bundler,
// .rspec requires, preloads) and then runs each unit it is handed, by default in a child forked
// from the booted parent, and reports structured events on a pipe (worker_event.h).
//
// The worker owns its process and pipes; the caller (node/Coordinator) owns the scheduling:
// it polls event_fd(), calls ReadEvents(), hands out units with Run(), and enforces timeouts
// with KillUnit(). Knows nothing of networks or git.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "base/status.h"
#include "exec/worker_event.h"

namespace specswarm::exec {

// Both keep the booted parent pristine, so a crash or a timeout costs one unit and a fork.
enum class Isolation {
  // Units one after another in one reused child, RSpec's world reset between them: lazy loading
  // and an app's first-request warm-up are paid once per slot, and files share a process as
  // they do under plain `rspec` and parallel_tests. The default (see bench/RESULTS.md).
  kReset,
  // Each unit in a fresh child: nothing leaks between files, at ~10 ms per file for plain
  // RSpec and ~50 ms for a Rails app (every child redoes lazy initialisation).
  kFork,
};

struct WorkerConfig {
  std::string project_dir;               // where rspec would be run
  std::string shim;                      // path of specswarm_worker.rb
  std::string ruby = "ruby";
  std::vector<std::string> rspec_args;   // reach RSpec as they would reach `rspec`
  std::vector<std::string> preload;      // files required once at boot (rails_helper)
  Isolation isolation = Isolation::kReset;
  std::string scratch_dir;               // private directory for logs and captured output
  bool first_is_1 = false;               // TEST_ENV_NUMBER "1" for slot 1 instead of ""
};

// The TEST_ENV_NUMBER parallel_tests gives slot `slot` (1-based): "", "2", "3", ...
std::string TestEnvNumber(int slot, bool first_is_1);

class RubyWorker {
 public:
  RubyWorker(int slot, const WorkerConfig& config);
  ~RubyWorker();
  RubyWorker(const RubyWorker&) = delete;
  RubyWorker& operator=(const RubyWorker&) = delete;

  // Starts the Ruby process; it reports BootedEvent or BootFailedEvent when boot is over.
  Status Start();
  // Readable when events (or end of file) are waiting.
  int event_fd() const { return event_fd_; }
  // Reads what is available and appends each complete line's event. Returns false once the
  // worker has closed its channel (it exited or died); the process is reaped then.
  bool ReadEvents(std::vector<Result<WorkerEvent>>* events);
  // Hands one unit to the (idle, booted) worker.
  Status Run(int unit_id, const std::string& file, const std::vector<std::string>& ids);
  // Kills the process running the current unit (the forked child whose pid the StartedEvent
  // named); the worker reports the unit finished by that signal.
  void KillUnit(int pid);
  // Asks the worker to finish (end of its input), then kills what is left of it.
  void Stop();

  int slot() const { return slot_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // The worker's own stdout and stderr (its boot output), at most the last `max_bytes`.
  std::string BootLog(size_t max_bytes = 16 * 1024) const;
  // How the process ended, once ReadEvents returned false: "exit status 3", "signal 9 (Killed)".
  const std::string& exit_description() const { return exit_description_; }

 private:
  void Reap(bool wait);

  int slot_;
  WorkerConfig config_;
  pid_t pid_ = -1;
  int command_fd_ = -1;  // we write commands
  int event_fd_ = -1;    // we read events
  std::string partial_;  // an event line not yet complete
  std::string log_path_;
  std::string capture_path_;
  std::string exit_description_;
};

}  // namespace specswarm::exec
