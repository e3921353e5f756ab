#include <catch2/catch.hpp>

#include "node/spec_queue.h"

using namespace specswarm::node;

namespace {
std::vector<SpecUnit> Units(int n) {
  std::vector<SpecUnit> units;
  for (int i = 1; i <= n; ++i) units.push_back(SpecUnit{i, "spec/f" + std::to_string(i) + "_spec.rb", {}, 1.0});
  return units;
}
}  // namespace

TEST_CASE("slots pull units in plan order, each under its own lease") {
  SpecQueue queue(Units(3));
  auto a = queue.Take(1), b = queue.Take(2);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->unit.id == 1);
  CHECK(b->unit.id == 2);
  CHECK(a->id != b->id);
  CHECK(b->slot == 2);
  CHECK(queue.pending() == 1);
  CHECK(queue.outstanding() == 2);
  CHECK_FALSE(queue.done());
}

TEST_CASE("the queue is done only when every lease is answered") {
  SpecQueue queue(Units(2));
  auto a = queue.Take(1), b = queue.Take(1);
  CHECK_FALSE(queue.Take(1));
  CHECK(queue.Complete(a->id));
  CHECK_FALSE(queue.done());
  CHECK(queue.Complete(b->id));
  CHECK(queue.done());
  CHECK(queue.completed() == 2);
}

TEST_CASE("a second answer for the same lease is not counted") {
  SpecQueue queue(Units(1));
  auto a = queue.Take(1);
  CHECK(queue.Complete(a->id));
  CHECK_FALSE(queue.Complete(a->id));
  CHECK_FALSE(queue.Complete(999));
  CHECK(queue.completed() == 1);
}

TEST_CASE("a released lease goes back to the front of the queue") {
  SpecQueue queue(Units(3));
  auto a = queue.Take(1);
  CHECK(queue.Release(a->id));
  CHECK_FALSE(queue.Complete(a->id));  // its holder is gone; a late answer is dropped
  auto again = queue.Take(2);
  REQUIRE(again);
  CHECK(again->unit.id == 1);
  CHECK(again->id != a->id);
}

TEST_CASE("cancelling drops what was not handed out and keeps outstanding leases") {
  SpecQueue queue(Units(4));
  auto a = queue.Take(1);
  auto dropped = queue.Cancel();
  CHECK(dropped.size() == 3);
  CHECK_FALSE(queue.Take(1));
  CHECK_FALSE(queue.done());
  CHECK(queue.Complete(a->id));
  CHECK(queue.done());
}
