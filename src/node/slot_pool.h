// SlotPool: this machine's slots for one run. It starts one RubyWorker per slot, asks its
// UnitSource for a unit whenever a booted slot is idle (pull, never static groups), collects
// the workers' structured events into UnitResults, enforces the boot and per-unit timeouts, and
// turns every crash, hang or lost worker into an error result for that unit, so every unit it
// takes ends with exactly one answer: a result, or the lease handed back. A worker that dies is
// replaced (up to a limit).
//
// The same pool serves the coordinator's local slots (its source is the run's queue) and a
// peer's slots in `join` (its source is the leases the coordinator sent). It never blocks: the
// owner's one poll loop waits on PollFds() for at most TimeoutMs() and then calls Process().
//
// End of a run: Persist() (optional, the coordinator only) has one idle slot write RSpec's
// example status file, then Close() lets every child run after(:suite) and at_exit and exit,
// within a deadline; closed() says when the pool is done. Stop() kills everything now.
//
// The pool owns its workers; the caller owns the source. Single-threaded.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/ruby_worker.h"
#include "node/spec_queue.h"

namespace specswarm::node {

// Where a pool's units come from and where their answers go.
class UnitSource {
 public:
  virtual ~UnitSource() = default;
  // The next unit for `slot`, or nothing for now (the pool asks again on Dispatch()).
  virtual std::optional<Lease> Take(int slot) = 0;
  // Exactly one of these two per lease taken.
  virtual void Done(const Lease& lease, exec::UnitResult result) = 0;
  virtual void Return(const Lease& lease) = 0;  // not run here: run it elsewhere
  virtual void OnExample(const Lease& /*lease*/, const exec::ExampleResult& /*example*/) {}
  // Errors of after(:suite) hooks (file "after(:suite)"), not tied to any lease.
  virtual void OnRunLevelResult(exec::UnitResult result) = 0;
  // RSpec's own messages at load time ("Run options: ..."), once, from the first slot booted.
  virtual void OnBooted(const std::vector<std::string>& /*messages*/) {}
  // Something the user should know that is not a result: a worker replaced, a slot given up.
  virtual void OnNotice(const std::string& /*line*/) {}
};

struct SlotPoolOptions {
  int slots = 1;
  int first_slot = 1;            // slot numbers are first_slot, first_slot + 1, ...
  exec::WorkerConfig worker;
  double unit_timeout = 0;       // seconds; 0: no limit
  double boot_timeout = 0;       // seconds; 0: no limit
  double close_timeout = 120;    // seconds for after(:suite) hooks and at_exit at the end
  int max_restarts_per_slot = 3;
};

class SlotPool {
 public:
  SlotPool(SlotPoolOptions options, UnitSource* source);
  ~SlotPool();
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  void Start();
  // Descriptors to poll for input, and the longest the caller may wait before Process().
  std::vector<int> PollFds() const;
  int TimeoutMs() const;
  void Process();
  // Offers work to every idle slot again (the source has new units).
  void Dispatch();
  // No more units will come: slots still booting are stopped.
  void StopTaking();

  // Has one idle slot persist the run's example statuses from `results_file`; false when no
  // slot can (the caller says so). Pump until persisting() is false.
  bool Persist(const std::string& results_file);
  bool persisting() const;
  // Every slot runs after(:suite) and exits; pump until closed().
  void Close();
  bool closed() const;
  void Stop();

  bool any_alive() const;
  bool any_booted() const;
  int booted() const;       // slots that finished booting at some point
  int idle() const;         // booted slots without a unit now
  int busy() const;
  // RSpec's example_status_persistence_file_path, once a slot booted ("" when unset).
  const std::string& status_path() const { return status_path_; }
  double slowest_boot() const { return slowest_boot_; }
  // The leases the slots are running now.
  std::vector<int> LeaseIds() const;
  // Why slots could not boot: the first error, and its kind ("bundler"), when none booted.
  std::string boot_error() const;
  const std::string& boot_error_kind() const { return boot_error_kind_; }
  // Slots that failed to boot while others did, one line each, for notices.
  std::vector<std::string> BootFailures() const;

 private:
  using Clock = std::chrono::steady_clock;
  enum class SlotState { kBooting, kIdle, kBusy, kPersisting, kClosing, kDead };
  struct Slot;

  void StartWorker(Slot& slot);
  void Handle(Slot& slot, const exec::WorkerEvent& event);
  void HandleChildExited(Slot& slot, const exec::ChildExitedEvent& exited);
  void HandleWorkerExit(Slot& slot);
  void DispatchTo(Slot& slot);
  void FinishUnit(Slot& slot, exec::UnitOutcome outcome, std::string problem);
  void GiveUp(Slot& slot, const std::string& why);
  void EnforceDeadlines();
  void Drain(Slot& slot);
  void AddRunLevelError(const Slot& slot, std::vector<std::string> messages, int errors, std::string problem);
  bool AnySlotIn(SlotState state) const;

  SlotPoolOptions options_;
  UnitSource* source_;
  std::vector<std::unique_ptr<Slot>> slots_;
  bool taking_ = true;
  bool boot_messages_shown_ = false;
  std::string status_path_;
  std::string boot_error_kind_;
  double slowest_boot_ = 0;
  Clock::time_point last_reap_;
};

}  // namespace specswarm::node
