#include "node/spec_queue.h"

namespace specswarm::node {

SpecQueue::SpecQueue(std::vector<SpecUnit> units) : pending_(units.begin(), units.end()) {}

std::optional<Lease> SpecQueue::Take(int slot, bool shortest) {
  if (pending_.empty()) return std::nullopt;
  Lease lease{next_lease_++, std::move(shortest ? pending_.back() : pending_.front()), slot};
  if (shortest) {
    pending_.pop_back();
  } else {
    pending_.pop_front();
  }
  leases_[lease.id] = lease;
  return lease;
}

bool SpecQueue::Complete(int lease_id) {
  if (leases_.erase(lease_id) == 0) return false;
  ++completed_;
  return true;
}

bool SpecQueue::Release(int lease_id) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return false;
  pending_.push_front(std::move(it->second.unit));
  leases_.erase(it);
  return true;
}

std::vector<SpecUnit> SpecQueue::Cancel() {
  std::vector<SpecUnit> dropped(pending_.begin(), pending_.end());
  pending_.clear();
  return dropped;
}

const Lease* SpecQueue::Outstanding(int lease_id) const {
  auto it = leases_.find(lease_id);
  return it == leases_.end() ? nullptr : &it->second;
}

}  // namespace specswarm::node
