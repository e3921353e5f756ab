// RubyWorker: one long-lived Ruby process for one slot. It boots the project once (Bundler,
// .rspec requires, preloads) and loads every spec file of the run, as `rspec` does before it
// runs any example; then it runs each unit it is handed in a child forked from that loaded
// state, and reports structured events on a pipe (worker_event.h).
//
// Process tree: specswarm -> worker (own process group) -> child (own process group) -> the
// specs' processes. A timeout kills the child's group; Stop() kills both groups.
//
// The worker owns its process, its pipes and its pidfd; the caller (node/Coordinator) owns the
// scheduling: it polls event_fd() and exit_fd(), calls ReadEvents() and Exited(), hands out
// units with Run(), and enforces timeouts with KillChild(). Not thread-safe; knows nothing of
// networks or git.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "base/child_process.h"
#include "base/status.h"
#include "exec/worker_event.h"

namespace specswarm::exec {

// Both keep the booted parent pristine, so a crash or a timeout costs one unit and a fork.
enum class Isolation {
  // One child per slot runs unit after unit in one RSpec run, as one `rspec` process that
  // loaded every file: before(:suite) once, after(:suite) at the end, state shared between
  // files as under rspec and parallel_tests. The default.
  kReset,
  // Each unit in a fresh child of the loaded parent, suite hooks around it: nothing a file's
  // examples do reaches another file, at the price of redoing lazy work in every child.
  kFork,
};

struct WorkerConfig {
  std::string project_dir;               // where rspec would be run
  std::string shim;                      // path of bin/specswarm_worker.rb
  std::string ruby = "ruby";
  std::vector<std::string> rspec_args;   // reach RSpec as they would reach `rspec`
  std::string targets_file;              // the run's targets, one a line (files, file:line)
  std::vector<std::string> preload;      // files required once at boot (rails_helper)
  Isolation isolation = Isolation::kReset;
  bool bundler = true;                   // require bundler/setup when there is a Gemfile
  std::string scratch_dir;               // private directory for logs and captured output
  bool first_is_1 = false;               // TEST_ENV_NUMBER "1" for slot 1 instead of ""
  // Every slot sees a tmp/ of its own, as it gets a database of its own: in a private mount
  // namespace an overlay shows the project's tmp/ as it was and keeps what the slot writes in
  // scratch_dir/tmp-N, so specs that write fixed paths under tmp/ (aruba, caches, uploads) do
  // not collide. Slot 1 included: overlayfs forbids changing a lower layer while it is mounted,
  // and slot 1 writing the project's tmp/ under the others' overlays made rspec-core's aruba
  // specs on slot 2 find no files in about one run in three.
  bool private_tmp = false;
};

// Whether this process may give a child a private mount namespace (as root, or through an
// unprivileged user namespace); the error says why not.
Status CheckPrivateTmp();

// parallel_tests' TEST_ENV_NUMBER, defined once in base/child_process.h.
using specswarm::TestEnvNumber;

class RubyWorker {
 public:
  RubyWorker(int slot, const WorkerConfig& config);
  ~RubyWorker();
  RubyWorker(const RubyWorker&) = delete;
  RubyWorker& operator=(const RubyWorker&) = delete;

  // Starts the Ruby process; it reports BootedEvent or BootFailedEvent when boot is over.
  Status Start();
  // Readable when events (or end of file) are waiting; -1 once the channel closed.
  int event_fd() const { return event_fd_; }
  // Readable once the worker process has exited (a pidfd); -1 where the kernel has none, and
  // then the caller polls Exited() on a timer. Exit is never inferred from the event channel:
  // a daemon a spec started may hold it open long after the worker is gone.
  int exit_fd() const { return pidfd_; }
  // Reads whatever is available without blocking and appends each complete line's event.
  // Returns false once the channel is closed (every writer gone).
  bool ReadEvents(std::vector<Result<WorkerEvent>>* events);
  // True once the worker process has ended (reaped here, with its child's group killed).
  bool Exited();

  // Hands one unit to the (idle, booted) worker: ids restrict it to part of the file, except
  // ids make it the rest of a split file.
  Status Run(int unit_id, const std::string& file, const std::vector<std::string>& ids,
             const std::vector<std::string>& except_ids = {});
  // Asks for the run's example statuses to be persisted from `results_file` (PersistedEvent).
  Status Persist(const std::string& results_file);
  // End of input: the worker runs after(:suite) in its child (SuiteDoneEvent) and exits.
  void CloseInput();
  // Kills the child running units, and everything in its process group.
  void KillChild();
  // Kills what is left of the worker and its child now, and reaps it.
  void Stop();

  int slot() const { return slot_; }
  pid_t pid() const { return pid_; }
  pid_t child_pid() const { return child_pid_; }
  bool running() const { return pid_ > 0; }
  // The worker's own stdout and stderr (its boot output), at most the last `max_bytes`.
  std::string BootLog(size_t max_bytes = 16 * 1024) const;
  // How the process ended, once Exited(): "exit status 3", "signal 9 (Killed)".
  const std::string& exit_description() const { return exit_description_; }

 private:
  Status Send(const std::vector<std::string>& fields);
  void Reap(bool wait);
  void CloseFds();

  int slot_;
  WorkerConfig config_;
  pid_t pid_ = -1;
  pid_t child_pid_ = -1;  // the current child, from ChildEvent
  int command_fd_ = -1;   // we write commands
  int event_fd_ = -1;     // we read events
  int pidfd_ = -1;
  std::string partial_;   // an event line not yet complete
  std::string log_path_;
  std::string capture_path_;
  std::string exit_description_;
};

}  // namespace specswarm::exec
