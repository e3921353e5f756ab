// Trust on a real LAN: real `specswarm join` nodes in network namespaces with their own
// avahi-daemons, real runs, real mDNS, and swarm keys (node/swarm_key.h) that tell the swarms on
// one LAN apart. What a node outside the swarm can do to it (raw sockets, plain text, a rogue
// ROUTER) is in swarm_loopback_test.cc; here whole nodes and runs meet.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "swarm_lab.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;

namespace {

// What a node's join logs, once, when a client fails the CURVE handshake with the swarm's key.
constexpr const char* kRefusedHandshake = "refused a connection that did not complete the handshake";
constexpr const char* kRefused = "refused a connection";

std::unique_ptr<SwarmLab> MakeSwarm(const std::string& scenario, int hosts, const SleepySuite& suite) {
  auto lab = SwarmLab::Create(scenario, hosts, suite);
  if (!lab) FAIL("could not build the lab for " << scenario);
  return lab;
}

void StartJoins(SwarmLab& lab, std::initializer_list<int> hosts) {
  for (int h : hosts) {
    INFO("join on host " << h << " (logs in " << lab.net().dir() << ")");
    REQUIRE(lab.StartJoin(h));
  }
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The name a run's own slots give their examples: this machine's (the namespaces share it).
std::string LocalHost() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

// The fingerprint of `host`'s swarm key, as `specswarm key show` prints it.
std::string Fingerprint(SwarmLab& lab, int host) {
  static const std::regex re("fingerprint: *([0-9a-f]{4}(-[0-9a-f]{4}){4})");
  std::string out;
  std::smatch m;
  if (lab.Specswarm(host, {"key", "show"}, &out) != 0 || !std::regex_search(out, m, re)) return "";
  return m[1].str();
}

// The run on `host` ended with the suite's exact counts (plus `extra` passing examples), every
// file answered once.
void RequireExact(SwarmLab& lab, const SleepySuite& suite, int exit_code, int host = 1, int extra = 0) {
  INFO("run on host " << host << ":\n" << lab.RunOutput(host));
  CHECK(exit_code == 1);  // the suite has failures
  ReportCounts counts = CountsOf(lab.RunReport(host));
  CHECK(counts.examples == suite.Examples() + extra);
  CHECK(counts.failures == suite.Failures());
  CHECK(counts.pending == suite.Pending());
  CHECK_THAT(lab.RunOutput(host), Catch::Contains("Files without a result: 0"));
}

// The hosts the run on `host` had examples run on.
std::set<std::string> HostsOf(SwarmLab& lab, int host) {
  std::set<std::string> hosts;
  for (const auto& [name, examples] : CountsOf(lab.RunReport(host)).hosts) hosts.insert(name);
  return hosts;
}

// The `_specswarm._tcp` records `host`'s avahi-daemon holds now: "ADDRESS key=FINGERPRINT", one
// per instance.
std::multiset<std::string> Records(SwarmLab& lab, int host) {
  std::string out;
  RunCommand(lab.net().Wrap(host, {"avahi-browse", "-rptk", "_specswarm._tcp"}), &out);
  std::multiset<std::string> records;
  static const std::regex key_re("\"key=([0-9a-f-]*)\"");
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    // =;eth0;IPv4;NAME;_specswarm._tcp;local;HOST.local;ADDRESS;PORT;"txtvers=1" ... "key=..."
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string f; std::getline(parts, f, ';');) fields.push_back(f);
    std::smatch m;
    if (fields.size() >= 10 && fields[0] == "=" && std::regex_search(line, m, key_re)) {
      records.insert(fields[7] + " key=" + m[1].str());
    }
  }
  return records;
}

// Waits until `host`'s daemon holds exactly `expected` (Records' form).
bool WaitForRecords(SwarmLab& lab, int host, const std::multiset<std::string>& expected) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (Records(lab, host) != expected) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(200ms);
  }
  return true;
}

std::string NoAnswer(SwarmLab& lab, int host) {
  return "not used: no answer from tcp://" + lab.Address(host) + ":7070: not in the same swarm, or not running";
}

}  // namespace

TEST_CASE("a node with another swarm's key or none submits no run to a member, which logs it once and keeps serving",
          "[swarm][netns][trust]") {
  // Each file sleeps 1.2 s: one local slot needs over 7 s, past the 5 s a peer has to answer.
  SleepySuite suite{6, 1.2};
  auto lab = MakeSwarm("nokey", 3, suite);
  REQUIRE(lab->net().BlockMulticast().ok());  // named peers only: every run below tries host 2
  StartJoins(*lab, {2});
  const std::string member = lab->Address(2) + ":7070";

  // Host 3 holds another swarm's key: host 2 never answers its handshake, and the run goes on
  // on host 3's own slot.
  REQUIRE(lab->InstallKey(3, lab->NewKeyFile("other")));
  const auto started = std::chrono::steady_clock::now();
  lab->StartRun("--slots 1 --peer " + member, 3);
  int code = lab->WaitRun(60s, 3);
  RequireExact(*lab, suite, code, 3);
  CHECK(std::chrono::steady_clock::now() - started < 30s);
  CHECK_THAT(lab->RunOutput(3), Catch::Contains(NoAnswer(*lab, 2)));
  CHECK(HostsOf(*lab, 3) == std::set<std::string>{LocalHost()});
  std::string log2 = lab->JoinLog(2);
  {
    INFO("host 2's join:\n" << log2);
    // ZeroMQ retried the handshake for 5 s, ten times a second: one line says so.
    CHECK(Count(log2, kRefusedHandshake) == 1);
    CHECK(Count(log2, kRefused) == 1);
    CHECK(Count(log2, "run ") == 0);  // no run accepted, declined or reserved
  }

  // Without a key, host 3's run names no peer and asks none (two slots: it only has to finish).
  REQUIRE(lab->InstallKey(3, ""));
  lab->StartRun("--slots 2 --peer " + member, 3);
  code = lab->WaitRun(60s, 3);
  RequireExact(*lab, suite, code, 3);
  CHECK_THAT(lab->RunOutput(3), Catch::Contains("Peers: none used: no swarm key in "));
  CHECK_THAT(lab->RunOutput(3), !Catch::Contains("not used:"));
  CHECK(HostsOf(*lab, 3) == std::set<std::string>{LocalHost()});

  // A member's run is served as before; host 2 logged one refusal in all.
  lab->StartRun("--slots 1 --peer " + member);
  code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost(), "host2"});
  log2 = lab->JoinLog(2);
  INFO("host 2's join:\n" << log2);
  CHECK(Count(log2, "accepted run") == 1);
  CHECK(Count(log2, kRefused) == 1);
  std::this_thread::sleep_for(1s);
  CHECK(lab->StrayProcesses(2).empty());
}

TEST_CASE("two swarms on one LAN run at once and never exchange work nor status", "[swarm][netns][trust]") {
  SleepySuite suite{8, 0.8};
  auto lab = MakeSwarm("twoswarms", 4, suite);
  const std::string key_b = lab->NewKeyFile("b");  // hosts 1 and 2 keep the lab's key: swarm A
  REQUIRE(lab->InstallKey(3, key_b));
  REQUIRE(lab->InstallKey(4, key_b));
  const std::string swarm_a = Fingerprint(*lab, 1), swarm_b = Fingerprint(*lab, 3);
  REQUIRE(!swarm_a.empty());
  REQUIRE(!swarm_b.empty());
  REQUIRE(swarm_a != swarm_b);
  StartJoins(*lab, {1, 2, 3, 4});

  // Host 1's node sees all four over mDNS; status asks only its own swarm's.
  nlohmann::json status;
  std::map<std::string, nlohmann::json> nodes;  // by address
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    status = lab->Status(1);
    nodes.clear();
    if (status.is_object()) {
      for (const auto& node : status["nodes"]) nodes[node.value("address", "")] = node;
    }
    if (nodes.size() >= 4 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(300ms);
  }
  INFO(status.dump(2));
  REQUIRE(nodes.size() == 4);
  const auto& host2 = nodes[lab->Address(2) + ":7070"];
  CHECK(host2["other_swarm"] == false);
  CHECK(host2["reachable"] == true);
  for (int h : {3, 4}) {
    const auto& other = nodes[lab->Address(h) + ":7070"];
    CHECK(other["other_swarm"] == true);
    CHECK(other["reachable"] == false);
    CHECK(other["excluded"] == "other swarm (" + swarm_b + ")");
    CHECK(other["swarm"] == swarm_b);
  }
  // `discover` marks them too.
  std::string out;
  CHECK(lab->Specswarm(1, {"discover", "--timeout", "2"}, &out) == 0);
  CHECK(Count(out, "other swarm (" + swarm_b + ")") == 2);
  CHECK(Count(out, "other swarm") == 2);

  // Both swarms run at once, each on its own nodes only.
  lab->StartRun("--slots 1", 1);
  lab->StartRun("--slots 1", 3);
  int code_a = lab->WaitRun(90s, 1);
  int code_b = lab->WaitRun(90s, 3);
  RequireExact(*lab, suite, code_a, 1);
  RequireExact(*lab, suite, code_b, 3);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost(), "host2"});
  CHECK(HostsOf(*lab, 3) == std::set<std::string>{LocalHost(), "host4"});
  for (auto [run, other, fingerprint] : {std::tuple{1, 3, swarm_b}, {1, 4, swarm_b}, {3, 1, swarm_a}, {3, 2, swarm_a}}) {
    INFO("run on host " << run << ":\n" << lab->RunOutput(run));
    CHECK_THAT(lab->RunOutput(run), Catch::Contains("(tcp://" + lab->Address(other) + ":7070): not used: swarm " +
                                                    fingerprint + ", not ours"));
  }
  CHECK(Count(lab->JoinLog(2), "accepted run") == 1);
  CHECK(Count(lab->JoinLog(4), "accepted run") == 1);
  // No node was ever asked by the other swarm: not one refused handshake, status included.
  for (int h : {1, 2, 3, 4}) {
    INFO("host " << h << "'s join:\n" << lab->JoinLog(h));
    CHECK(Count(lab->JoinLog(h), kRefused) == 0);
    CHECK(lab->StrayProcesses(h).empty());
  }
}

TEST_CASE("a rotated key excludes the node that still holds the old one", "[swarm][netns][trust]") {
  SleepySuite suite{8, 0.8};
  auto lab = MakeSwarm("rotate", 3, suite);
  StartJoins(*lab, {1, 2, 3});
  const std::string old_swarm = Fingerprint(*lab, 3);
  REQUIRE(!old_swarm.empty());
  // Before the rotation host 3 is a member like host 2.
  lab->StartRun("--slots 1");
  int code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost(), "host2", "host3"});

  // A new key for hosts 1 and 2, whose joins restart with it; host 3 keeps the old one.
  const std::string rotated = lab->NewKeyFile("rotated");
  REQUIRE(lab->InstallKey(1, rotated));
  REQUIRE(lab->InstallKey(2, rotated));
  StartJoins(*lab, {1, 2});
  const std::string new_swarm = Fingerprint(*lab, 1);
  REQUIRE(new_swarm != old_swarm);
  REQUIRE(Fingerprint(*lab, 2) == new_swarm);
  CHECK(Count(lab->JoinLog(3), kRefused) == 0);
  // Wait until host 1's daemon has dropped the records of the joins that left (under a second),
  // so that the summary below is not racing them. (A run started earlier first sees host 2's
  // pre-rotation record, calls it another swarm's, and takes host 2 when the new record comes.)
  REQUIRE(WaitForRecords(*lab, 1, {lab->Address(1) + " key=" + new_swarm, lab->Address(2) + " key=" + new_swarm,
                                   lab->Address(3) + " key=" + old_swarm}));

  // Over mDNS host 3 is another swarm's node: named, never asked. (Host 1's last run cached both
  // peers with the old fingerprint: this run tries neither before mDNS has spoken for them.)
  lab->StartRun("--slots 1");
  code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost(), "host2"});
  CHECK_THAT(lab->RunOutput(), Catch::Contains("(tcp://" + lab->Address(3) + ":7070): not used: swarm " + old_swarm + ", not ours"));
  CHECK(Count(lab->JoinLog(3), "accepted run") == 1);
  CHECK(Count(lab->JoinLog(3), kRefused) == 0);

  // Named with --peer where mDNS no longer shows it, it is asked, and does not answer. One more
  // file of 6 s keeps the run going past the 5 s a peer has to answer.
  lab->net().StopAvahi(3);
  lab->WriteProjectFile("spec/zz_slow_spec.rb", "RSpec.describe 'slow' do\n  it('waits') { sleep 6 }\nend\n");
  REQUIRE(WaitForRecords(*lab, 1, {lab->Address(1) + " key=" + new_swarm, lab->Address(2) + " key=" + new_swarm}));
  lab->StartRun("--slots 1 --peer " + lab->Address(3) + ":7070");
  code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code, 1, 1);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost(), "host2"});
  CHECK_THAT(lab->RunOutput(), Catch::Contains(NoAnswer(*lab, 3)));
  const std::string log3 = lab->JoinLog(3);
  INFO("host 3's join:\n" << log3);
  CHECK(Count(log3, "accepted run") == 1);
  CHECK(Count(log3, kRefusedHandshake) == 1);
  CHECK(Count(log3, kRefused) == 1);
  for (int h : {1, 2, 3}) CHECK(lab->StrayProcesses(h).empty());
}

TEST_CASE("a node advertising the swarm's fingerprint without its key never gets the run", "[swarm][netns][trust]") {
  // Over 7 s on one local slot: past the 5 s the impostor has to answer.
  SleepySuite suite{6, 1.2};
  auto lab = MakeSwarm("spoof", 2, suite);
  REQUIRE(lab->InstallKey(2, lab->NewKeyFile("rogue")));
  StartJoins(*lab, {1, 2});
  const std::string ours = Fingerprint(*lab, 1), theirs = Fingerprint(*lab, 2);
  REQUIRE(!ours.empty());
  REQUIRE(ours != theirs);
  // Host 2 also publishes, for its own join's port, a record carrying our fingerprint: the
  // fingerprint is public, the key is not.
  auto spoof = lab->net().Spawn(2, {"avahi-publish", "-s", "impostor", "_specswarm._tcp", "7070", "txtvers=1", "proto=1",
                                    "id=impostor0", "ver=0.1.0", "slots=8", "idle=8", "key=" + ours},
                                "spoof.log");
  REQUIRE(spoof);
  REQUIRE(WaitForRecords(*lab, 1, {lab->Address(1) + " key=" + ours, lab->Address(2) + " key=" + ours, lab->Address(2) + " key=" + theirs}));

  lab->StartRun("--slots 1");
  int code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  CHECK(HostsOf(*lab, 1) == std::set<std::string>{LocalHost()});
  // Its own record is another swarm's: never asked. The impostor's is asked, and cannot answer.
  CHECK_THAT(lab->RunOutput(), Catch::Contains("(tcp://" + lab->Address(2) + ":7070): not used: swarm " + theirs + ", not ours"));
  CHECK_THAT(lab->RunOutput(), Catch::Contains(NoAnswer(*lab, 2)));
  const std::string log2 = lab->JoinLog(2);
  INFO("host 2's join:\n" << log2);
  CHECK(Count(log2, kRefusedHandshake) == 1);
  CHECK(Count(log2, kRefused) == 1);
  CHECK(Count(log2, "run ") == 0);  // no run accepted, declined or reserved

  // Status on host 1 asks the impostor, which does not answer, and not host 2's own record.
  const auto status = lab->Status(1);
  INFO(status.dump(2));
  REQUIRE(status.is_object());
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& node : status["nodes"]) by_id[node.value("id", "")] = node;
  CHECK(status["nodes"].size() == 3);
  REQUIRE(by_id.count("impostor0"));
  CHECK(by_id["impostor0"]["reachable"] == false);
  CHECK(by_id["impostor0"]["other_swarm"] == false);
  CHECK(by_id["impostor0"]["excluded"] ==
        "no answer from tcp://" + lab->Address(2) + ":7070 within 2 s: not in the same swarm, or not running");
  int others = 0;
  for (const auto& node : status["nodes"]) {
    if (node.value("other_swarm", false)) {
      ++others;
      CHECK(node["excluded"] == "other swarm (" + theirs + ")");
      CHECK(node["address"] == lab->Address(2) + ":7070");
    }
  }
  CHECK(others == 1);
  CHECK(Count(lab->JoinLog(2), kRefused) == 1);  // counted, not logged again
  spoof->Stop();
  CHECK(lab->StrayProcesses(2).empty());
}
