#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "node/scheduler.h"

using namespace specswarm;
using namespace specswarm::node;
using exec::ExampleStatus;
using exec::UnitOutcome;

namespace {

// Every call the scheduler makes on its observer, in order.
class Recorder : public RunObserver {
 public:
  void OnBooted(const std::vector<std::string>& messages) override { booted.push_back(messages); }
  void OnExample(const exec::ExampleResult& example) override { examples.push_back(example.id); }
  void OnUnitFinished(const exec::UnitResult& unit) override { units.push_back(unit); }
  void OnNotice(const std::string& line) override { notices.push_back(line); }

  int FinishedCount(int unit_id) const {
    return static_cast<int>(
        std::count_if(units.begin(), units.end(), [&](const exec::UnitResult& u) { return u.unit_id == unit_id; }));
  }

  std::vector<std::vector<std::string>> booted;
  std::vector<std::string> examples;
  std::vector<exec::UnitResult> units;
  std::vector<std::string> notices;
};

std::string FileOf(int id) { return "spec/f" + std::to_string(id) + "_spec.rb"; }

std::vector<SpecUnit> Units(int n) {
  std::vector<SpecUnit> units;
  for (int i = 1; i <= n; ++i) units.push_back(SpecUnit{i, FileOf(i), {}, 1.0, {}});
  return units;
}

exec::ExampleResult Example(int unit_id, int n, ExampleStatus status) {
  exec::ExampleResult e;
  e.file_path = "./" + FileOf(unit_id);
  e.id = e.file_path + "[1:" + std::to_string(n) + "]";
  e.description = "example " + std::to_string(n);
  e.full_description = "unit " + std::to_string(unit_id) + " example " + std::to_string(n);
  e.status = status;
  e.line_number = n * 3;
  if (status == ExampleStatus::kFailed) e.exception = exec::ExceptionInfo{"RuntimeError", "boom", {}};
  if (status == ExampleStatus::kPending) e.pending_message = "later";
  return e;
}

// The answer a runner sends for `lease`: `passed` passing examples, then `failed` failing ones.
exec::UnitResult ResultFor(const Lease& lease, int passed, int failed = 0, int pending = 0) {
  exec::UnitResult r;
  r.unit_id = lease.unit.id;
  r.file = lease.unit.file;
  r.ids = lease.unit.ids;
  r.slot = lease.slot;
  int n = 0;
  for (int i = 0; i < passed; ++i) r.examples.push_back(Example(lease.unit.id, ++n, ExampleStatus::kPassed));
  for (int i = 0; i < failed; ++i) r.examples.push_back(Example(lease.unit.id, ++n, ExampleStatus::kFailed));
  for (int i = 0; i < pending; ++i) r.examples.push_back(Example(lease.unit.id, ++n, ExampleStatus::kPending));
  return r;
}

int ReportedCount(Scheduler& scheduler, int unit_id) {
  const auto& units = scheduler.report().units();
  return static_cast<int>(
      std::count_if(units.begin(), units.end(), [&](const exec::UnitResult& u) { return u.unit_id == unit_id; }));
}

}  // namespace

TEST_CASE("scheduler: two runners pull every unit once and the report adds them up") {
  Recorder observer;
  Scheduler scheduler(Units(4), &observer, /*fail_fast=*/false);
  CHECK_FALSE(scheduler.done());
  CHECK(scheduler.has_pending());

  auto a = scheduler.Take(Scheduler::kLocal, 1);
  auto b = scheduler.Take("peer-b", 1);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->unit.id == 1);
  CHECK(b->unit.id == 2);
  CHECK(a->id != b->id);
  CHECK(scheduler.outstanding() == 2);
  REQUIRE(scheduler.Holder(a->id));
  CHECK(*scheduler.Holder(a->id) == Scheduler::kLocal);
  REQUIRE(scheduler.Holder(b->id));
  CHECK(*scheduler.Holder(b->id) == "peer-b");
  CHECK(scheduler.Holding("peer-b") == 1);
  CHECK(scheduler.Holding(Scheduler::kLocal) == 1);

  CHECK(scheduler.Done(b->id, ResultFor(*b, 2, 1)));
  CHECK(scheduler.Holder(b->id) == nullptr);
  auto c = scheduler.Take("peer-b", 2);
  REQUIRE(c);
  CHECK(c->unit.id == 3);
  CHECK(scheduler.Done(a->id, ResultFor(*a, 3)));
  auto d = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(d);
  CHECK(d->unit.id == 4);
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 2));
  CHECK_FALSE(scheduler.has_pending());
  CHECK_FALSE(scheduler.done());

  CHECK(scheduler.Done(c->id, ResultFor(*c, 1, 0, 2)));
  CHECK(scheduler.Done(d->id, ResultFor(*d, 0, 1)));
  CHECK(scheduler.done());
  CHECK(scheduler.outstanding() == 0);
  CHECK(scheduler.completed() == 4);

  for (int id = 1; id <= 4; ++id) {
    CHECK(ReportedCount(scheduler, id) == 1);
    CHECK(observer.FinishedCount(id) == 1);
  }
  RunTotals totals = scheduler.report().Totals();
  CHECK(totals.examples == 3 + 3 + 3 + 1);
  CHECK(totals.failures == 2);
  CHECK(totals.pending == 2);
  CHECK(totals.errors_outside == 0);
  CHECK(scheduler.report().not_run == 0);
  CHECK(scheduler.answered().at("peer-b") == 2);
  CHECK(scheduler.answered().at(Scheduler::kLocal) == 2);
}

TEST_CASE("scheduler: a late result from a lost runner is dropped and the re-run is counted once") {
  Recorder observer;
  Scheduler scheduler(Units(3), &observer, /*fail_fast=*/false);
  auto lost = scheduler.Take("peer-b", 1);
  auto local = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(lost);
  REQUIRE(local);
  REQUIRE(lost->unit.id == 1);
  CHECK_FALSE(scheduler.TakeWorkAvailable());

  CHECK(scheduler.RunnerLost("peer-b") == 1);
  CHECK(scheduler.Holding("peer-b") == 0);
  CHECK(scheduler.Holder(lost->id) == nullptr);
  CHECK(scheduler.outstanding() == 1);
  CHECK(scheduler.TakeWorkAvailable());
  CHECK(scheduler.RunnerLost("peer-b") == 0);  // nothing left to give back

  // The lost unit comes back first, under a new lease.
  auto rerun = scheduler.Take(Scheduler::kLocal, 2);
  REQUIRE(rerun);
  CHECK(rerun->unit.id == 1);
  CHECK(rerun->id != lost->id);

  // The lost peer answers after all: too late.
  CHECK_FALSE(scheduler.Done(lost->id, ResultFor(*lost, 5, 5)));
  CHECK(observer.units.empty());
  CHECK(scheduler.report().units().empty());

  CHECK(scheduler.Done(rerun->id, ResultFor(*rerun, 2)));
  CHECK_FALSE(scheduler.Done(rerun->id, ResultFor(*rerun, 2)));  // a duplicate of the same lease
  CHECK(scheduler.Done(local->id, ResultFor(*local, 1)));
  CHECK_FALSE(scheduler.Done(local->id, ResultFor(*local, 1)));

  auto last = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(last);
  CHECK(last->unit.id == 3);
  CHECK(scheduler.Done(last->id, ResultFor(*last, 1)));
  CHECK(scheduler.done());

  CHECK(ReportedCount(scheduler, 1) == 1);
  CHECK(observer.FinishedCount(1) == 1);
  CHECK(scheduler.report().units().size() == 3);
  CHECK(scheduler.completed() == 3);
  RunTotals totals = scheduler.report().Totals();
  CHECK(totals.examples == 4);
  CHECK(totals.failures == 0);  // the late answer's five failures were never counted
  CHECK(scheduler.answered().count("peer-b") == 0);
  CHECK(scheduler.answered().at(Scheduler::kLocal) == 3);
}

TEST_CASE("scheduler: a runner lost with several leases gives them all back, in front") {
  Recorder observer;
  Scheduler scheduler(Units(5), &observer, /*fail_fast=*/false);
  auto a = scheduler.Take("peer-b", 1);
  auto b = scheduler.Take("peer-b", 2);
  auto c = scheduler.Take("peer-c", 1);
  REQUIRE((a && b && c));
  CHECK(scheduler.Holding("peer-b") == 2);

  CHECK(scheduler.RunnerLost("peer-b") == 2);
  CHECK(scheduler.Holding("peer-b") == 0);
  CHECK(scheduler.Holding("peer-c") == 1);
  CHECK(scheduler.outstanding() == 1);
  CHECK(scheduler.TakeWorkAvailable());
  CHECK_FALSE(scheduler.TakeWorkAvailable());

  // Units 1 and 2 come back before 4 and 5.
  std::vector<int> next;
  for (int i = 0; i < 4; ++i) {
    auto lease = scheduler.Take("peer-c", 2);
    REQUIRE(lease);
    next.push_back(lease->unit.id);
  }
  std::vector<int> first_two(next.begin(), next.begin() + 2);
  std::sort(first_two.begin(), first_two.end());
  CHECK(first_two == std::vector<int>{1, 2});
  CHECK(next[2] == 4);
  CHECK(next[3] == 5);
}

TEST_CASE("scheduler: Return puts the unit at the front and work is available once") {
  Recorder observer;
  Scheduler scheduler(Units(3), &observer, /*fail_fast=*/false);
  CHECK_FALSE(scheduler.TakeWorkAvailable());
  auto a = scheduler.Take("peer-b", 1);
  REQUIRE(a);
  CHECK(a->unit.id == 1);

  CHECK(scheduler.Return(a->id));
  CHECK(scheduler.Holder(a->id) == nullptr);
  CHECK(scheduler.outstanding() == 0);
  CHECK(scheduler.TakeWorkAvailable());
  CHECK_FALSE(scheduler.TakeWorkAvailable());

  CHECK_FALSE(scheduler.Return(a->id));  // already given back
  CHECK_FALSE(scheduler.Return(12345));  // never handed out
  CHECK_FALSE(scheduler.TakeWorkAvailable());
  CHECK_FALSE(scheduler.Done(a->id, ResultFor(*a, 1)));

  auto again = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(again);
  CHECK(again->unit.id == 1);
  CHECK(again->unit.file == FileOf(1));
  CHECK(again->id != a->id);
  CHECK(scheduler.Done(again->id, ResultFor(*again, 1)));
  CHECK_FALSE(scheduler.Return(again->id));  // answered leases cannot be given back
  CHECK(scheduler.completed() == 1);
  CHECK(ReportedCount(scheduler, 1) == 1);
  CHECK(scheduler.answered().count("peer-b") == 0);
}

TEST_CASE("scheduler: with fail_fast the first failure cancels what was not handed out") {
  Recorder observer;
  Scheduler scheduler(Units(6), &observer, /*fail_fast=*/true);
  auto a = scheduler.Take(Scheduler::kLocal, 1);
  auto b = scheduler.Take("peer-b", 1);
  auto c = scheduler.Take("peer-b", 2);
  REQUIRE((a && b && c));

  CHECK(scheduler.Done(a->id, ResultFor(*a, 1, 1)));
  CHECK(scheduler.report().not_run == 3);
  CHECK_FALSE(scheduler.has_pending());
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));
  CHECK_FALSE(scheduler.done());  // two leases are still out

  // Outstanding leases are still answered and counted; a second failure cancels nothing more.
  CHECK(scheduler.Done(b->id, ResultFor(*b, 0, 2)));
  CHECK(scheduler.report().not_run == 3);
  CHECK(scheduler.Done(c->id, ResultFor(*c, 2)));
  CHECK(scheduler.done());
  CHECK(scheduler.completed() == 3);
  CHECK(scheduler.report().units().size() == 3);
  CHECK(observer.units.size() == 3);
  RunTotals totals = scheduler.report().Totals();
  CHECK(totals.examples == 2 + 2 + 2);
  CHECK(totals.failures == 3);
}

TEST_CASE("scheduler: with fail_fast an error outside examples also stops the run") {
  Recorder observer;
  Scheduler scheduler(Units(3), &observer, /*fail_fast=*/true);
  auto a = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(a);
  exec::UnitResult crashed = ResultFor(*a, 1);
  crashed.outcome = UnitOutcome::kCrashed;
  crashed.errors_outside_examples = 1;
  crashed.signal = 11;
  CHECK(scheduler.Done(a->id, crashed));
  CHECK(scheduler.report().not_run == 2);
  CHECK(scheduler.done());
}

TEST_CASE("scheduler: with fail_fast a unit given back after the stop is counted not run") {
  Recorder observer;
  Scheduler scheduler(Units(4), &observer, /*fail_fast=*/true);
  auto a = scheduler.Take(Scheduler::kLocal, 1);
  auto b = scheduler.Take("peer-b", 1);
  REQUIRE((a && b));
  CHECK(scheduler.Done(a->id, ResultFor(*a, 0, 1)));
  CHECK(scheduler.report().not_run == 2);

  CHECK(scheduler.RunnerLost("peer-b") == 1);
  CHECK(scheduler.report().not_run == 3);
  CHECK_FALSE(scheduler.TakeWorkAvailable());  // nobody should pull again
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));
  CHECK(scheduler.done());
  CHECK(scheduler.report().units().size() == 1);
}

TEST_CASE("scheduler: without fail_fast a failure cancels nothing") {
  Recorder observer;
  Scheduler scheduler(Units(3), &observer, /*fail_fast=*/false);
  auto a = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(a);
  CHECK(scheduler.Done(a->id, ResultFor(*a, 0, 3)));
  CHECK(scheduler.report().not_run == 0);
  CHECK(scheduler.has_pending());
  auto b = scheduler.Take(Scheduler::kLocal, 1);
  REQUIRE(b);
  CHECK(b->unit.id == 2);
}

TEST_CASE("scheduler: Cancel counts what is left as not run and keeps outstanding leases") {
  Recorder observer;
  Scheduler scheduler(Units(4), &observer, /*fail_fast=*/false);
  auto a = scheduler.Take("peer-b", 1);
  REQUIRE(a);
  scheduler.Cancel();
  CHECK(scheduler.report().not_run == 3);
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));
  CHECK(scheduler.Done(a->id, ResultFor(*a, 1)));
  CHECK(scheduler.done());
  CHECK(observer.units.size() == 1);
}

TEST_CASE("scheduler: DropPending gives every pending unit a not-run result saying why") {
  Recorder observer;
  std::vector<SpecUnit> units = Units(4);
  units[2].ids = {"./spec/f3_spec.rb[1:1]", "./spec/f3_spec.rb[1:2]"};
  Scheduler scheduler(units, &observer, /*fail_fast=*/false);
  auto a = scheduler.Take("peer-b", 1);
  REQUIRE(a);

  const std::string why = "no slot was left to run it";
  scheduler.DropPending(why);
  CHECK_FALSE(scheduler.has_pending());
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));

  REQUIRE(observer.units.size() == 3);
  REQUIRE(scheduler.report().units().size() == 3);
  for (int i = 0; i < 3; ++i) {
    const exec::UnitResult& r = scheduler.report().units()[i];
    INFO("unit " << r.unit_id);
    CHECK(r.unit_id == i + 2);
    CHECK(r.file == FileOf(i + 2));
    CHECK(r.outcome == UnitOutcome::kNotRun);
    CHECK(r.problem == why);
    CHECK(r.errors_outside_examples == 1);
    CHECK(r.examples.empty());
    CHECK(observer.units[i].unit_id == r.unit_id);
    CHECK(observer.units[i].problem == why);
  }
  CHECK(scheduler.report().units()[1].ids == units[2].ids);
  CHECK(scheduler.report().Totals().errors_outside == 3);
  CHECK_FALSE(scheduler.report().Passed());
  CHECK(scheduler.report().not_run == 0);  // they have results, not a not-run count

  // The lease still out is answered normally.
  CHECK_FALSE(scheduler.done());
  CHECK(scheduler.Done(a->id, ResultFor(*a, 1)));
  CHECK(scheduler.done());
  CHECK(scheduler.report().units().size() == 4);
}

TEST_CASE("scheduler: Example forwards only for live leases") {
  Recorder observer;
  Scheduler scheduler(Units(3), &observer, /*fail_fast=*/false);
  auto a = scheduler.Take(Scheduler::kLocal, 1);
  auto b = scheduler.Take("peer-b", 1);
  REQUIRE((a && b));

  CHECK(scheduler.Example(a->id, Example(1, 1, ExampleStatus::kPassed)));
  CHECK(scheduler.Example(b->id, Example(2, 1, ExampleStatus::kFailed)));
  CHECK_FALSE(scheduler.Example(999, Example(9, 1, ExampleStatus::kPassed)));  // never handed out

  CHECK(scheduler.Done(a->id, ResultFor(*a, 1)));
  CHECK_FALSE(scheduler.Example(a->id, Example(1, 2, ExampleStatus::kPassed)));  // answered already

  CHECK(scheduler.RunnerLost("peer-b") == 1);
  CHECK_FALSE(scheduler.Example(b->id, Example(2, 2, ExampleStatus::kPassed)));  // its runner is gone

  auto c = scheduler.Take(Scheduler::kLocal, 2);
  REQUIRE(c);
  CHECK(c->unit.id == 2);
  CHECK(scheduler.Example(c->id, Example(2, 1, ExampleStatus::kPassed)));

  CHECK(observer.examples ==
        std::vector<std::string>{"./spec/f1_spec.rb[1:1]", "./spec/f2_spec.rb[1:1]", "./spec/f2_spec.rb[1:1]"});
  // Examples are forwarded for the console only; the report counts unit results.
  CHECK(scheduler.report().Totals().examples == 1);
}

TEST_CASE("scheduler: a run-level result is reported and observed without a lease") {
  Recorder observer;
  Scheduler scheduler(Units(1), &observer, /*fail_fast=*/true);
  exec::UnitResult suite;
  suite.messages = {"An error occurred in an `after(:suite)` hook."};
  suite.errors_outside_examples = 1;
  scheduler.AddRunLevelResult(suite);
  CHECK(observer.units.size() == 1);
  CHECK(scheduler.report().units().size() == 1);
  CHECK(scheduler.report().Totals().errors_outside == 1);
  CHECK(scheduler.completed() == 0);
  CHECK_FALSE(scheduler.done());
}

TEST_CASE("scheduler: an empty run is done at once") {
  Recorder observer;
  Scheduler scheduler({}, &observer, /*fail_fast=*/false);
  CHECK(scheduler.done());
  CHECK_FALSE(scheduler.has_pending());
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));
  CHECK_FALSE(scheduler.Done(1, exec::UnitResult{}));
  CHECK(scheduler.report().units().empty());
  CHECK(observer.units.empty());
}

// Cancel() stops the scheduler, so a unit given back later is counted not run. DropPending()
// ("no runner can ever take the rest") does not: a lease returned after it (RunnerLost, Return)
// puts its unit back in the queue, Take() hands it out again, and if nobody does the unit ends
// the run with neither a result nor a not-run count.
TEST_CASE("scheduler: a unit given back after DropPending is not lost from the report") {
  Recorder observer;
  Scheduler scheduler(Units(2), &observer, /*fail_fast=*/false);
  auto a = scheduler.Take("peer-b", 1);
  REQUIRE(a);
  scheduler.DropPending("no slot was left to run it");
  REQUIRE(scheduler.report().units().size() == 1);

  CHECK(scheduler.RunnerLost("peer-b") == 1);
  // Unit 1 is accounted for once, a not-run result or the not-run count, and the run is over.
  CHECK(ReportedCount(scheduler, 1) + scheduler.report().not_run == 1);
  CHECK(scheduler.done());
  CHECK_FALSE(scheduler.TakeWorkAvailable());
  CHECK_FALSE(scheduler.Take(Scheduler::kLocal, 1));
}

TEST_CASE("scheduler: a runner markedly slower than the others takes the shortest units left") {
  // Longest first, as the planner orders them: estimates 20, 19, ... 1 seconds.
  std::vector<SpecUnit> units;
  for (int i = 1; i <= 20; ++i) units.push_back(SpecUnit{i, "spec/u" + std::to_string(i) + "_spec.rb", {}, 21.0 - i, {}});
  RunObserver quiet;
  Scheduler scheduler(units, &quiet, false);
  // Each runner answers three units: "slow" at three times their estimates, the others at them.
  auto answer = [&](const std::string& runner, double pace) {
    for (int n = 0; n < 3; ++n) {
      auto lease = scheduler.Take(runner, 1);
      REQUIRE(lease);
      exec::UnitResult result;
      result.file = lease->unit.file;
      result.wall_time = pace * lease->unit.estimate;
      REQUIRE(scheduler.Done(lease->id, result));
    }
  };
  answer("local", 1.0);
  answer("peer:a", 1.1);
  answer("peer:slow", 3.0);
  CHECK(scheduler.PaceOf("peer:slow") == Approx(3.0));
  // The slow runner gets the shortest unit (estimate 1), the others still the longest left.
  auto slow = scheduler.Take("peer:slow", 1);
  REQUIRE(slow);
  CHECK(slow->unit.estimate == Approx(1.0));
  auto fast = scheduler.Take("peer:a", 1);
  REQUIRE(fast);
  CHECK(fast->unit.estimate == Approx(11.0));
}

TEST_CASE("scheduler: with too few answers to judge, every runner takes the longest unit") {
  std::vector<SpecUnit> units;
  for (int i = 1; i <= 5; ++i) units.push_back(SpecUnit{i, "spec/u" + std::to_string(i) + "_spec.rb", {}, 6.0 - i, {}});
  RunObserver quiet;
  Scheduler scheduler(units, &quiet, false);
  auto first = scheduler.Take("peer:slow", 1);
  exec::UnitResult result;
  result.wall_time = 100;
  REQUIRE(scheduler.Done(first->id, result));
  auto next = scheduler.Take("peer:slow", 1);
  REQUIRE(next);
  CHECK(next->unit.estimate == Approx(4.0));
}
