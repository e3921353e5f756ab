// Scheduler: the coordinator's side of one run, whoever runs the units. It owns the run's
// SpecQueue and RunReport and knows which runner (this machine's slots, or a peer by node id)
// holds each lease. Runners pull: Take() hands out the next unit, Done() accepts a result only
// for a live lease (a late or duplicate answer is dropped, never counted twice), Return() and
// RunnerLost() put a runner's units back at the front of the queue. --fail-fast cancels what
// was not handed out after the first failure.
//
// Runners differ in speed (a peer 3x slower, an old laptop): each runner's pace is its units'
// wall time over their estimates. A runner markedly slower than the typical one takes the shortest
// unit left (the back of the longest-first queue) instead of the longest, so a long file is not
// left to end the run on a slow machine.
//
// Pure bookkeeping like the queue: no I/O, no clock. The swarm run drives it from its poll
// loop; `work_available()` tells that loop when units came back and idle slots should pull
// again. Single-threaded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/run_report.h"
#include "node/spec_queue.h"

namespace specswarm::node {

// One node's share of a run so far, for the live line.
struct HostProgress {
  std::string host;
  int files_done = 0;
  int busy = 0;
  int slots = 0;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // RSpec's own messages at load time ("Run options: ..."), once.
  virtual void OnBooted(const std::vector<std::string>& /*messages*/) {}
  virtual void OnExample(const exec::ExampleResult& /*example*/) {}
  virtual void OnUnitFinished(const exec::UnitResult& /*unit*/) {}
  // Something the user should know that is not a result: a worker replaced, a peer lost.
  virtual void OnNotice(const std::string& /*line*/) {}
  // Every node's share so far, about twice a second while peers take part.
  virtual void OnProgress(const std::vector<HostProgress>& /*hosts*/) {}
};

class Scheduler {
 public:
  // The runner name of this machine's own slots.
  static constexpr const char* kLocal = "";

  Scheduler(std::vector<SpecUnit> units, RunObserver* observer, bool fail_fast);

  std::optional<Lease> Take(const std::string& runner, int slot);
  // False (and nothing recorded) when the lease is not live: answered already, or given back.
  bool Done(int lease_id, exec::UnitResult result);
  // A live example of a live lease, for the console; false otherwise.
  bool Example(int lease_id, const exec::ExampleResult& example);
  bool Return(int lease_id);
  // Every lease `runner` holds goes back to the queue; returns how many.
  int RunnerLost(const std::string& runner);
  void AddRunLevelResult(exec::UnitResult result);
  // The run stops handing out units (^C, or no runner left); what is left is counted not run.
  void Cancel();
  // No runner can ever take the rest: each unit left gets an error result saying `why`.
  void DropPending(const std::string& why);

  bool done() const { return queue_.done(); }
  bool has_pending() const { return queue_.pending() > 0; }
  size_t outstanding() const { return queue_.outstanding(); }
  size_t completed() const { return queue_.completed(); }
  // The runner holding `lease_id`, or nullptr.
  const std::string* Holder(int lease_id) const;
  // Leases `runner` holds now.
  int Holding(const std::string& runner) const;
  // True once after units came back to the queue (the loop then offers them to idle slots).
  bool TakeWorkAvailable();
  // A runner's pace: its units' wall time over their estimates (0 until it answered some).
  double PaceOf(const std::string& runner) const;
  // Units answered per runner (files done, for the live line and the summary).
  const std::map<std::string, int>& answered() const { return answered_; }

  RunReport& report() { return report_; }

 private:
  SpecQueue queue_;
  RunObserver* observer_;
  bool fail_fast_;
  bool stopped_ = false;
  std::string drop_why_;  // set by DropPending: a unit given back later gets the same result
  bool work_available_ = false;
  std::map<int, std::string> holders_;  // live lease -> runner
  std::map<std::string, int> answered_;
  RunReport report_;
  struct Pace {
    double wall = 0, estimate = 0;
    int units = 0;
  };
  std::map<std::string, Pace> pace_;  // per runner, from its answered units
  std::map<int, double> estimates_;    // live lease -> its unit's estimate
  bool IsSlow(const std::string& runner) const;
};

}  // namespace specswarm::node
