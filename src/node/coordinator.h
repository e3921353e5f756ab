// Coordinator: runs one SpecQueue on local slots. It starts one RubyWorker per slot, hands each
// booted, idle worker the next unit as soon as it asks (pull, never static groups), collects
// the structured events into UnitResults, enforces the per-unit timeout, and turns every crash,
// hang or lost worker into an error result for that unit, so every unit ends with exactly one
// result. A worker that dies is replaced (up to a limit) and the run carries on.
//
// The Coordinator owns the workers; the caller owns the queue and the observer, which sees
// examples live (the console's progress) and each unit as it finishes.
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
  virtual void OnExample(const exec::ExampleResult& /*example*/) {}
  virtual void OnUnitFinished(const exec::UnitResult& /*unit*/) {}
  // Something the user should know that is not a result: a worker replaced, a slot given up.
  virtual void OnNotice(const std::string& /*line*/) {}
};

struct CoordinatorOptions {
  int slots = 1;
  exec::WorkerConfig worker;
  double unit_timeout = 0;       // seconds; 0: no limit
  bool fail_fast = false;        // stop handing out units after the first failure
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
  enum class SlotState { kBooting, kIdle, kBusy, kDead };
  struct Slot {
    int number = 0;
    std::unique_ptr<exec::RubyWorker> worker;
    SlotState state = SlotState::kBooting;
    std::optional<Lease> lease;
    exec::UnitResult current;
    int unit_pid = 0;
    bool summary_seen = false;
    bool timed_out = false;
    Clock::time_point started;
    int restarts = 0;
    std::string boot_error;
  };

  void StartWorker(Slot& slot);
  void Handle(Slot& slot, const exec::WorkerEvent& event);
  void HandleWorkerExit(Slot& slot);
  void Dispatch(Slot& slot);
  void FinishUnit(Slot& slot, exec::UnitOutcome outcome, std::string problem);
  void KillOverdueUnits();
  int PollTimeoutMs() const;
  bool AnySlotAlive() const;
  void DropPendingUnits();

  CoordinatorOptions options_;
  SpecQueue* queue_;
  RunObserver* observer_;
  std::vector<Slot> slots_;
  RunReport report_;
  bool stop_dispatching_ = false;
};

}  // namespace specswarm::node
