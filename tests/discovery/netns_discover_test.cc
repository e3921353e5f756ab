// `specswarm discover` and the ways around missing multicast, on a namespace LAN: what it lists,
// what it says when there is no daemon, seeds and the last-seen cache with multicast blocked,
// and a daemon restart under a running node.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "lab_steps.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;
using specswarm::Status;

namespace {

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr
  json doc;            // parsed stdout with --json
};

// Runs `specswarm discover ARGS` on `host` with the host's own config and cache directories.
Outcome Discover(NetnsLab& lab, int host, std::vector<std::string> args) {
  std::string home = lab.dir() + "/h" + std::to_string(host);
  std::vector<std::string> argv{"env", "XDG_CACHE_HOME=" + home + "/cache",
                                "XDG_CONFIG_HOME=" + home + "/config", SPECSWARM_BINARY, "discover"};
  argv.insert(argv.end(), args.begin(), args.end());
  Outcome o;
  o.exit_code = RunCommand(lab.Wrap(host, argv), &o.output, /*merge_stderr=*/false);
  o.doc = json::parse(o.output, nullptr, false);
  if (o.doc.is_discarded()) {  // text mode: run again for stderr too would double the time
    o.doc = json();
  }
  return o;
}

Outcome DiscoverText(NetnsLab& lab, int host, std::vector<std::string> args) {
  std::string home = lab.dir() + "/h" + std::to_string(host);
  std::vector<std::string> argv{"env", "XDG_CACHE_HOME=" + home + "/cache",
                                "XDG_CONFIG_HOME=" + home + "/config", SPECSWARM_BINARY, "discover"};
  argv.insert(argv.end(), args.begin(), args.end());
  Outcome o;
  o.exit_code = RunCommand(lab.Wrap(host, argv), &o.output, /*merge_stderr=*/true);
  return o;
}

#define BOTH_BACKENDS(title, tags, fn)                                         \
  TEST_CASE(title " with avahi", tags "[avahi]") { fn("avahi"); }              \
  TEST_CASE(title " with dnssd", tags "[dnssd]") { fn("dnssd"); }

void DiscoverListsPeers(const std::string& backend) {
  auto lab = MakeLab("list" + backend, 2);
  LabNode node = StartNode(*lab, 1, {.backend = backend, .id = "node1", .port = 7001, .slots = 6,
                                     .idle = 5, .browse = false});
  Outcome o = Discover(*lab, 2, {"--timeout", "2", "--json", "--backend", backend});
  INFO(o.output);
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.doc["peers"].size() == 1);
  const json& p = o.doc["peers"][0];
  CHECK(p["id"] == "node1");
  CHECK(p["address"] == "10.77.0.1:7001");
  CHECK(p["slots"] == 6);
  CHECK(p["idle"] == 5);
  CHECK(p["version"] == "0.1.0");
  CHECK(p["source"] == "mdns");

  Outcome text = DiscoverText(*lab, 2, {"--timeout", "1.5", "--backend", backend});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("node1") && Catch::Contains("10.77.0.1:7001") &&
                              Catch::Contains("SLOTS"));
}
BOTH_BACKENDS("discover lists the peers of the LAN", "[discovery][netns][cli]", DiscoverListsPeers)

void NoDaemonExplained(const std::string& backend) {
  auto lab = MakeLab("nodaemon" + backend, 2, /*daemons=*/false);
  REQUIRE(lab->StartDbus(1).ok());  // host 1: a bus but no avahi-daemon; host 2: not even a bus

  Outcome no_avahi = DiscoverText(*lab, 1, {"--timeout", "1", "--backend", backend});
  INFO(no_avahi.output);
  CHECK(no_avahi.exit_code == 1);
  CHECK_THAT(no_avahi.output, Catch::Contains("avahi-daemon is not running"));
  CHECK_THAT(no_avahi.output, Catch::Contains("systemctl enable --now avahi-daemon"));
  CHECK_THAT(no_avahi.output, !Catch::Contains("WARNING"));  // no compat-library banner

  Outcome no_bus = Discover(*lab, 2, {"--timeout", "1", "--json", "--backend", backend});
  INFO(no_bus.output);
  CHECK(no_bus.exit_code == 1);
  REQUIRE(no_bus.doc["diagnosis"].size() >= 1);
  CHECK_THAT(no_bus.doc["diagnosis"][0]["problem"].get<std::string>(), Catch::Contains("D-Bus"));
}
BOTH_BACKENDS("without a daemon discover says why and what to do", "[discovery][netns][cli]",
              NoDaemonExplained)

void SeedsWithoutMulticast(const std::string& backend) {
  auto lab = MakeLab("seeds" + backend, 2);
  REQUIRE(lab->BlockMulticast().ok());
  LabNode node = StartNode(*lab, 1, {.backend = backend, .id = "node1", .port = 7001,
                                     .browse = false, .listen = true});
  // Multicast really is blocked: a browser on host 2 hears nothing.
  LabNode observer = StartNode(*lab, 2, {.backend = backend});
  observer.Drain(1500ms);
  CHECK_FALSE(observer.Peer("node1"));

  Outcome o = Discover(*lab, 2, {"--timeout", "1", "--json", "--backend", backend, "--peer",
                                 "10.77.0.1:7001", "--peer", "10.77.0.1:7999"});
  INFO(o.output);
  REQUIRE(o.exit_code == 0);
  REQUIRE(o.doc["peers"].size() == 1);
  CHECK(o.doc["peers"][0]["address"] == "10.77.0.1:7001");
  CHECK(o.doc["peers"][0]["source"] == "seed");
  REQUIRE(o.doc["unreachable"].size() == 1);
  CHECK(o.doc["unreachable"][0]["address"] == "10.77.0.1:7999");

  // The same seed from the user config.
  std::string config = lab->dir() + "/h2/config/specswarm";
  std::filesystem::create_directories(config);
  std::ofstream(config + "/config.yml") << "peers:\n  - 10.77.0.1:7001\n";
  Outcome from_config = Discover(*lab, 2, {"--timeout", "1", "--json", "--backend", backend});
  INFO(from_config.output);
  CHECK(from_config.exit_code == 0);
  CHECK(from_config.doc["peers"].size() == 1);
}
BOTH_BACKENDS("seeds find peers where multicast is blocked", "[discovery][netns][cli]",
              SeedsWithoutMulticast)

TEST_CASE("the last-seen cache finds peers once multicast stops", "[discovery][netns][cli]") {
  auto lab = MakeLab("cache", 2);
  LabNode node = StartNode(*lab, 1, {.id = "node1", .port = 7001, .browse = false, .listen = true});
  Outcome first = Discover(*lab, 2, {"--timeout", "2", "--json"});
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  REQUIRE(first.doc["peers"][0]["source"] == "mdns");

  // Multicast stops, and host 2's daemon restarts, forgetting what it had cached.
  REQUIRE(lab->BlockMulticast().ok());
  lab->StopAvahi(2);
  REQUIRE(lab->StartAvahi(2).ok());
  REQUIRE(lab->WaitForAvahi(2).ok());
  Outcome later = Discover(*lab, 2, {"--timeout", "1", "--json"});
  INFO(later.output);
  REQUIRE(later.exit_code == 0);
  REQUIRE(later.doc["peers"].size() == 1);
  CHECK(later.doc["peers"][0]["id"] == "node1");
  CHECK(later.doc["peers"][0]["source"] == "cache");
  CHECK(later.doc["peers"][0]["address"] == "10.77.0.1:7001");
}

void DaemonRestartSurvived(const std::string& backend) {
  auto lab = MakeLab("restartd" + backend, 2);
  LabNode node = StartNode(*lab, 1, {.backend = backend, .id = "node1", .port = 7001});
  LabNode other = StartNode(*lab, 2, {.backend = backend, .id = "node2", .port = 7002});
  REQUIRE(node.WaitForPeer("node2", 3s));
  REQUIRE(other.WaitForPeer("node1", 3s));

  lab->StopAvahi(1);
  // The daemon's goodbye takes node1 off the LAN, and node1 knows its daemon is gone.
  CHECK(other.WaitFor([](const json& e) { return e["event"] == "removed" && e["id"] == "node1"; }, 3s));
  CHECK(node.WaitFor([](const json& e) { return e["event"] == "state" && e["state"] == "unavailable"; }, 3s));

  REQUIRE(lab->StartAvahi(1).ok());
  REQUIRE(lab->WaitForAvahi(1).ok());
  // Without a restart of the node: it reconnects, advertises again and browses again.
  INFO("with " << backend);
  CHECK(other.WaitFor([](const json& e) { return e["event"] == "added" && e["id"] == "node1"; }, 6s));
  CHECK(node.WaitForPeer("node2", 6s));
  CHECK(node.process().Running());
}
BOTH_BACKENDS("a node survives its avahi-daemon restarting", "[discovery][netns]",
              DaemonRestartSurvived)

}  // namespace
