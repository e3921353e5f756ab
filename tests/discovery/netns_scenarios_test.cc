// Discovery over a real LAN: real avahi-daemons in network namespaces on one bridge, real
// multicast, real nodes (discovery_test_node) in separate processes. Every scenario runs with
// both backends, since the dns_sd path must not rot. Times are measured from the node's own
// CLOCK_MONOTONIC stamps, so the bounds are about the network path, not about test overhead.
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <set>

#include "lab_steps.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;
using specswarm::Status;

namespace {

// Registers one TEST_CASE per backend running `body(backend)`.
#define BOTH_BACKENDS(title, tags, fn)                                         \
  TEST_CASE(title " with avahi", tags "[avahi]") { fn("avahi"); }                 \
  TEST_CASE(title " with dnssd", tags "[dnssd]") { fn("dnssd"); }

void ThreeHostsSeeEachOther(const std::string& backend) {
  auto lab = MakeLab("see" + backend, 3);
  std::vector<LabNode> nodes;
  for (int h = 1; h <= 3; ++h)
    nodes.push_back(StartNode(*lab, h, {.backend = backend, .id = "node" + std::to_string(h),
                                        .port = 7000 + h, .slots = 2 + h, .idle = h}));
  double last_published = 0;
  for (auto& n : nodes) last_published = std::max(last_published, n.published_at());

  for (int h = 1; h <= 3; ++h) {
    for (int other = 1; other <= 3; ++other) {
      if (other == h) continue;
      std::string id = "node" + std::to_string(other);
      auto seen = nodes[h - 1].WaitForPeer(id, 3s);
      INFO("host " << h << " looking for " << id << " with " << backend);
      REQUIRE(seen);
      CHECK((*seen)["t"].get<double>() - last_published < 2000);
      CHECK((*seen)["port"] == 7000 + other);
      CHECK((*seen)["slots"] == 2 + other);
      CHECK((*seen)["idle"] == other);
      CHECK((*seen)["addresses"][0] == lab->Address(other));
    }
    // A node never lists itself.
    CHECK_FALSE(nodes[h - 1].Peer("node" + std::to_string(h)));
  }
}
BOTH_BACKENDS("three hosts see each other within 2 s", "[discovery][netns]", ThreeHostsSeeEachOther)

void IdleUpdatePropagates(const std::string& backend) {
  auto lab = MakeLab("idle" + backend, 2);
  LabNode worker = StartNode(*lab, 1, {.backend = backend, .id = "worker", .port = 7001,
                                       .slots = 8, .idle = 8, .browse = false});
  LabNode observer = StartNode(*lab, 2, {.backend = backend});
  REQUIRE(observer.WaitForPeer("worker", 3s));

  for (int idle : {3, 0, 8}) {
    double sent = MonotonicMs();
    REQUIRE(worker.Send("idle " + std::to_string(idle)));
    auto update = observer.WaitFor([&](const json& e) {
      return e["event"] == "updated" && e["id"] == "worker" && e["idle"] == idle;
    }, 2s);
    worker.Drain(10ms);
    INFO("idle=" << idle << " with " << backend);
    INFO("observer saw: " << json(observer.events()).dump());
    INFO("worker said: " << json(worker.events()).dump());
    REQUIRE(update);
    CHECK((*update)["t"].get<double>() - sent < 1000);
  }
  // Updated in place: the observer never saw the worker leave.
  for (const json& e : observer.events()) CHECK(e["event"] != "removed");
}
BOTH_BACKENDS("an idle update propagates within 1 s", "[discovery][netns]", IdleUpdatePropagates)

void StoppedNodeDisappears(const std::string& backend) {
  auto lab = MakeLab("stop" + backend, 3);
  LabNode polite = StartNode(*lab, 1, {.backend = backend, .id = "polite", .port = 7001, .browse = false});
  LabNode crashing = StartNode(*lab, 3, {.backend = backend, .id = "crashing", .port = 7003, .browse = false});
  LabNode observer = StartNode(*lab, 2, {.backend = backend});
  REQUIRE(observer.WaitForPeer("polite", 3s));
  REQUIRE(observer.WaitForPeer("crashing", 3s));

  auto removed = [](const std::string& id) {
    return [id](const json& e) { return e["event"] == "removed" && e["id"] == id; };
  };
  // A clean stop withdraws the service: the daemon sends goodbye packets.
  double stop = MonotonicMs();
  REQUIRE(polite.Send("quit"));
  auto gone = observer.WaitFor(removed("polite"), 3s);
  REQUIRE(gone);
  CHECK((*gone)["t"].get<double>() - stop < 2000);

  // A node killed outright: its daemon sees the client vanish and withdraws the records too.
  stop = MonotonicMs();
  crashing.process().Stop(0ms, SIGKILL);
  gone = observer.WaitFor(removed("crashing"), 3s);
  REQUIRE(gone);
  CHECK((*gone)["t"].get<double>() - stop < 2000);
}
BOTH_BACKENDS("a stopped node disappears within 2 s", "[discovery][netns]", StoppedNodeDisappears)

void RestartShowsNewTxt(const std::string& backend) {
  auto lab = MakeLab("restart" + backend, 2);
  LabNode observer = StartNode(*lab, 2, {.backend = backend});
  // Same instance name on purpose: the observer's daemon still caches the old TXT.
  LabNode::Options first{.backend = backend, .id = "phoenix", .port = 7001, .slots = 4, .idle = 4,
                         .name = "phoenix-node", .browse = false};
  {
    LabNode node = StartNode(*lab, 1, first);
    auto seen = observer.WaitForPeer("phoenix", 3s);
    REQUIRE(seen);
    REQUIRE((*seen)["slots"] == 4);
    node.process().Stop(0ms, SIGKILL);
  }
  LabNode::Options second = first;
  second.slots = 16;
  second.idle = 16;
  second.port = 7002;
  LabNode node = StartNode(*lab, 1, second);
  auto fresh = observer.WaitFor([](const json& e) {
    return e["id"] == "phoenix" && e["event"] != "removed" && e["slots"] == 16;
  }, 4s);
  INFO("with " << backend);
  REQUIRE(fresh);
  observer.Drain(1500ms);  // a late answer from a stale cache must not win afterwards
  auto now = observer.Peer("phoenix");
  REQUIRE(now);
  CHECK((*now)["slots"] == 16);
  CHECK((*now)["port"] == 7002);
}
BOTH_BACKENDS("a node restarted under the same id shows its new TXT", "[discovery][netns]",
              RestartShowsNewTxt)

void MalformedTxtIgnored(const std::string& backend) {
  auto lab = MakeLab("bad" + backend, 2);
  auto publish = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"avahi-publish", "-s"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = lab->Spawn(1, argv, "publish.log");
    if (!p) FAIL("cannot start avahi-publish");
    return std::move(*p);
  };
  // A third party can publish a node with the stock tool (docs/DISCOVERY.md)...
  ChildProcess good = publish({"good", "_specswarm._tcp", "7001", "txtvers=1", "proto=1",
                               "id=thirdparty", "ver=0.1.0", "slots=2", "idle=1", "key="});
  // ...and broken records are ignored, each with its reason.
  ChildProcess bad_slots = publish({"bad-slots", "_specswarm._tcp", "7002", "txtvers=1", "proto=1",
                                    "id=bad1", "ver=0.1.0", "slots=four", "idle=1", "key="});
  ChildProcess no_id = publish({"no-id", "_specswarm._tcp", "7003", "txtvers=1", "proto=1",
                                "ver=0.1.0", "slots=2", "idle=1", "key="});
  ChildProcess future = publish({"future", "_specswarm._tcp", "7004", "txtvers=9", "id=bad3"});

  LabNode observer = StartNode(*lab, 2, {.backend = backend});
  auto good_peer = observer.WaitForPeer("thirdparty", 4s);
  REQUIRE(good_peer);
  CHECK((*good_peer)["slots"] == 2);
  std::map<std::string, std::string> reasons;
  auto collect = [&] {  // over every event so far, including those read before `thirdparty`
    for (const json& e : observer.events())
      if (e["event"] == "ignored") reasons[e["instance"]] = e["why"];
    return reasons.size() == 3;
  };
  if (!collect()) observer.WaitFor([&](const json&) { return collect(); }, 3s);
  INFO("with " << backend);
  REQUIRE(reasons.size() == 3);
  CHECK_THAT(reasons["bad-slots"], Catch::Contains("slots"));
  CHECK_THAT(reasons["no-id"], Catch::Contains("missing id"));
  CHECK_THAT(reasons["future"], Catch::Contains("txtvers"));
  for (const json& e : observer.events())
    if (e["event"] == "added") CHECK(e["id"] == "thirdparty");
}
BOTH_BACKENDS("a malformed TXT record is ignored, the valid one kept", "[discovery][netns]",
              MalformedTxtIgnored)

void OnePeerOverTwoInterfaces(const std::string& backend) {
  auto lab = NetnsLab::Create("twoif" + backend, 2, /*segments=*/2);
  if (!lab.ok()) FAIL(lab.status().message());
  if (Status s = (*lab)->StartAllDaemons(); !s.ok()) FAIL(s.message());
  LabNode node = StartNode(**lab, 1, {.backend = backend, .id = "dual", .port = 7001, .browse = false});
  LabNode observer = StartNode(**lab, 2, {.backend = backend});
  std::vector<std::string> both{(*lab)->Address(1, 0), (*lab)->Address(1, 1)};
  auto seen = observer.WaitFor([&](const json& e) {
    return e["id"] == "dual" && e["event"] != "removed" && e["addresses"] == both;
  }, 4s);
  INFO("with " << backend);
  REQUIRE(seen);

  // One link goes down: the peer stays, with the address it still has.
  REQUIRE((*lab)->SetLink(2, 1, false).ok());
  auto narrowed = observer.WaitFor([&](const json& e) {
    return e["id"] == "dual" && e["event"] == "updated" &&
           e["addresses"] == std::vector<std::string>{(*lab)->Address(1, 0)};
  }, 5s);
  CHECK(narrowed);
  int added = 0;
  for (const json& e : observer.events()) {
    CHECK(e["event"] != "removed");
    added += e["event"] == "added";
  }
  CHECK(added == 1);
}
BOTH_BACKENDS("a node on two interfaces is one peer", "[discovery][netns]", OnePeerOverTwoInterfaces)

}  // namespace
