// Coordinator: runs one SpecQueue on local slots. It starts one RubyWorker per slot, hands each
// booted, idle worker the next unit as soon as it asks (pull, never static groups), collects
// the structured events into UnitResults, enforces the boot and per-unit timeouts, and turns
// every crash, hang or lost worker into an error result for that unit, so every unit ends with
// exactly one result. A worker that dies is replaced (up to a limit) and the run carries on; a
// run whose every slot is gone ends, naming the units it could not run.
//
// A run has three phases: units (until the queue is done), persist (the example status file,
// written once from every slot's results by one worker), and close (each worker's child runs
// after(:suite) and exits, within a deadline; then everything left is killed).
//
// The Coordinator owns the workers; the caller owns the queue and the observer, which sees
// examples live (the console's progress) and each unit as it finishes. Single-threaded.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/ruby_worker.h"
#include "node/run_report.h"
#include "node/spec_queue.h"

namespace specswarm::node {

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // RSpec's own messages at load time ("Run options: ..."), from the first slot that booted.
  virtual void OnBooted(const std::vector<std::string>& /*messages*/) {}
  virtual void OnExample(const exec::ExampleResult& /*example*/) {}
  virtual void OnUnitFinished(const exec::UnitResult& /*unit*/) {}
  // Something the user should know that is not a result: a worker replaced, a slot given up.
  virtual void OnNotice(const std::string& /*line*/) {}
};

struct CoordinatorOptions {
  int slots = 1;
  exec::WorkerConfig worker;
  double unit_timeout = 0;       // seconds; 0: no limit
  double boot_timeout = 0;       // seconds; 0: no limit
  double close_timeout = 120;    // seconds for after(:suite) hooks and at_exit at the end
  bool fail_fast = false;        // stop handing out units after the first failure
  bool persist_statuses = true;  // write example_status_persistence_file_path at the end
  int max_restarts_per_slot = 3;
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, SpecQueue* queue, RunObserver* observer);
  ~Coordinator();

  RunReport Run();

  // Async-signal-safe: asks a running Coordinator to stop (^C). Results so far are reported.
  static void Interrupt();

 private:
  using Clock = std::chrono::steady_clock;
  enum class SlotState { kBooting, kIdle, kBusy, kPersisting, kClosing, kDead };
  struct Slot {
    int number = 0;
    std::unique_ptr<exec::RubyWorker> worker;
    SlotState state = SlotState::kBooting;
    std::optional<Lease> lease;
    exec::UnitResult current;
    bool timed_out = false;
    Clock::time_point started;        // of the unit, or of the boot, or of the close
    Clock::time_point killed;         // when a timeout killed the unit's child
    int unit_child = 0;               // the child that started the current unit
    int killed_child = 0;             // the child a timeout killed, until it is reported gone
    int finished_child = 0;           // the child that finished the last unit
    int restarts = 0;
    int idle_child_deaths = 0;
    bool booted = false;
    std::string boot_error;
    std::vector<std::string> loose_messages;  // RSpec messages outside of any unit
  };

  void StartWorker(Slot& slot);
  void Pump(int timeout_ms);
  void Handle(Slot& slot, const exec::WorkerEvent& event);
  void HandleChildExited(Slot& slot, const exec::ChildExitedEvent& exited);
  void HandleWorkerExit(Slot& slot);
  void Dispatch(Slot& slot);
  void FinishUnit(Slot& slot, exec::UnitOutcome outcome, std::string problem);
  void GiveUp(Slot& slot, const std::string& why);
  void EnforceDeadlines();
  int PollTimeoutMs() const;
  bool AnySlotAlive() const;
  bool AnySlotIn(SlotState state) const;
  void DropPendingUnits();
  void PersistStatuses();
  void CloseWorkers();
  void AddRunLevelError(const Slot& slot, std::vector<std::string> messages, int errors, std::string problem);

  CoordinatorOptions options_;
  SpecQueue* queue_;
  RunObserver* observer_;
  std::vector<Slot> slots_;
  RunReport report_;
  bool stop_dispatching_ = false;
  bool boot_messages_shown_ = false;
  std::string status_path_;
  Clock::time_point last_check_;
};

}  // namespace specswarm::node
