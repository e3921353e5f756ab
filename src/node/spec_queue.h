// SpecQueue: the one dynamic queue of a run. Slots pull units from it (no static groups), in
// the planner's order; each unit handed out is a Lease until its result comes back. A lease
// whose holder is lost goes back to the front of the queue, so every unit ends with exactly
// one result. Pure bookkeeping with no I/O and no clock: the local Coordinator drives it today,
// and the swarm serves the same queue over a socket.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "node/spec_plan.h"

namespace specswarm::node {

struct Lease {
  int id = 0;
  SpecUnit unit;
  int slot = 0;
};

class SpecQueue {
 public:
  explicit SpecQueue(std::vector<SpecUnit> units);

  // The next unit for `slot`, or nothing when the queue is empty (or cancelled). `shortest`
  // takes from the back instead, where the planner put the shortest units (for a slow runner).
  std::optional<Lease> Take(int slot, bool shortest = false);
  // Marks a lease answered. False for a lease that is unknown or already answered, so a late
  // duplicate answer (a speculative re-run, a peer thought lost) is dropped, not counted twice.
  bool Complete(int lease_id);
  // Puts a lease's unit back at the front: its holder went away without an answer.
  bool Release(int lease_id);
  // Drops every unit not yet handed out (--fail-fast); returns them so they can be reported.
  std::vector<SpecUnit> Cancel();

  const Lease* Outstanding(int lease_id) const;
  size_t pending() const { return pending_.size(); }
  size_t outstanding() const { return leases_.size(); }
  size_t completed() const { return completed_; }
  bool done() const { return pending_.empty() && leases_.empty(); }

 private:
  std::deque<SpecUnit> pending_;
  std::map<int, Lease> leases_;
  int next_lease_ = 1;
  size_t completed_ = 0;
};

}  // namespace specswarm::node
