#include "node/scheduler.h"

#include <algorithm>

namespace specswarm::node {

Scheduler::Scheduler(std::vector<SpecUnit> units, RunObserver* observer, bool fail_fast)
    : queue_(std::move(units)), observer_(observer), fail_fast_(fail_fast) {}

namespace {
// A runner is slow when its pace is this many times the typical runner's, once both have
// answered enough units to tell (estimates of files never timed are size-based guesses).
constexpr double kSlowPace = 1.6;
constexpr int kPaceSamples = 3;
}  // namespace

std::optional<Lease> Scheduler::Take(const std::string& runner, int slot) {
  if (stopped_) return std::nullopt;
  std::optional<Lease> lease = queue_.Take(slot, IsSlow(runner));
  if (lease) {
    holders_[lease->id] = runner;
    estimates_[lease->id] = lease->unit.estimate;
  }
  return lease;
}

double Scheduler::PaceOf(const std::string& runner) const {
  auto it = pace_.find(runner);
  if (it == pace_.end() || it->second.units < kPaceSamples || it->second.estimate <= 0) return 0;
  return it->second.wall / it->second.estimate;
}

bool Scheduler::IsSlow(const std::string& runner) const {
  const double pace = PaceOf(runner);
  if (pace <= 0) return false;
  std::vector<double> paces;
  for (const auto& [name, p] : pace_) {
    if (double other = PaceOf(name); other > 0) paces.push_back(other);
  }
  if (paces.size() < 2) return false;
  std::sort(paces.begin(), paces.end());
  // The median runner is the yardstick: one lucky runner must not make the rest look slow.
  const double typical = paces[(paces.size() - 1) / 2];
  return pace > kSlowPace * typical;
}

bool Scheduler::Done(int lease_id, exec::UnitResult result) {
  auto holder = holders_.find(lease_id);
  if (holder == holders_.end() || !queue_.Complete(lease_id)) return false;
  ++answered_[holder->second];
  if (result.outcome == exec::UnitOutcome::kCompleted) {
    Pace& pace = pace_[holder->second];
    pace.wall += result.wall_time;
    pace.estimate += estimates_[lease_id];
    ++pace.units;
  }
  estimates_.erase(lease_id);
  holders_.erase(holder);
  if (fail_fast_ && result.HasFailures() && !stopped_) {
    stopped_ = true;
    report_.not_run += static_cast<int>(queue_.Cancel().size());
  }
  observer_->OnUnitFinished(result);
  report_.Add(std::move(result));
  return true;
}

bool Scheduler::Example(int lease_id, const exec::ExampleResult& example) {
  if (!holders_.count(lease_id)) return false;
  observer_->OnExample(example);
  return true;
}

bool Scheduler::Return(int lease_id) {
  estimates_.erase(lease_id);
  if (!holders_.erase(lease_id) || !queue_.Release(lease_id)) return false;
  if (!drop_why_.empty()) {
    DropPending(drop_why_);
  } else if (stopped_) {
    report_.not_run += static_cast<int>(queue_.Cancel().size());
  } else {
    work_available_ = true;
  }
  return true;
}

int Scheduler::RunnerLost(const std::string& runner) {
  std::vector<int> leases;
  for (const auto& [id, holder] : holders_) {
    if (holder == runner) leases.push_back(id);
  }
  for (int id : leases) Return(id);
  return static_cast<int>(leases.size());
}

void Scheduler::AddRunLevelResult(exec::UnitResult result) {
  observer_->OnUnitFinished(result);
  report_.Add(std::move(result));
}

void Scheduler::Cancel() {
  stopped_ = true;
  report_.not_run += static_cast<int>(queue_.Cancel().size());
}

void Scheduler::DropPending(const std::string& why) {
  stopped_ = true;
  drop_why_ = why;
  for (auto& unit : queue_.Cancel()) {
    exec::UnitResult result;
    result.unit_id = unit.id;
    result.file = unit.file;
    result.ids = unit.ids;
    result.outcome = exec::UnitOutcome::kNotRun;
    result.problem = why;
    result.errors_outside_examples = 1;
    observer_->OnUnitFinished(result);
    report_.Add(std::move(result));
  }
}

const std::string* Scheduler::Holder(int lease_id) const {
  auto it = holders_.find(lease_id);
  return it == holders_.end() ? nullptr : &it->second;
}

int Scheduler::Holding(const std::string& runner) const {
  int n = 0;
  for (const auto& [id, holder] : holders_) n += holder == runner ? 1 : 0;
  return n;
}

bool Scheduler::TakeWorkAvailable() {
  bool available = work_available_;
  work_available_ = false;
  return available;
}

}  // namespace specswarm::node
