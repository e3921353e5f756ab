// The swarm on a real LAN: `specswarm join` on hosts in network namespaces (their own
// avahi-daemon, their own state), `specswarm run` on host 1 in a project the peers cannot read,
// real rspec everywhere. Each scenario checks the run's RSpec JSON against the suite's known
// counts (and, once, against a serial `rspec`): every file answered exactly once, whatever
// happened to the peers.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "swarm_lab.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<SwarmLab> MakeSwarm(const std::string& scenario, int hosts, const SleepySuite& suite) {
  auto lab = SwarmLab::Create(scenario, hosts, suite);
  if (!lab) FAIL("could not build the lab for " << scenario);
  return lab;
}

void StartJoins(SwarmLab& lab, std::initializer_list<int> hosts, const std::vector<std::string>& extra = {}) {
  for (int h : hosts) {
    INFO("join on host " << h << " (logs in " << lab.net().dir() << ")");
    REQUIRE(lab.StartJoin(h, extra));
  }
}

// The run's counts equal the suite's, and the run says no file went without a result.
void RequireExact(SwarmLab& lab, const SleepySuite& suite, int exit_code) {
  INFO(lab.RunOutput());
  CHECK(exit_code == 1);  // the suite has failures
  ReportCounts counts = CountsOf(lab.RunReport());
  CHECK(counts.examples == suite.Examples());
  CHECK(counts.failures == suite.Failures());
  CHECK(counts.pending == suite.Pending());
  CHECK_THAT(lab.RunOutput(), Catch::Contains("Files without a result: 0"));
}

}  // namespace

TEST_CASE("three nodes run one suite with serial rspec's counts and examples from every node", "[swarm][netns]") {
  SleepySuite suite{12, 0.6};
  auto lab = MakeSwarm("three", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  ReportCounts counts = CountsOf(lab->RunReport());
  INFO(lab->RunOutput());
  CHECK(counts.hosts.size() == 3);
  CHECK(counts.hosts.count("host2"));
  CHECK(counts.hosts.count("host3"));
  // The peers could not read the project: what they ran came as a pack into their own store.
  CHECK_THAT(lab->JoinLog(2), Catch::Contains("code received"));
  CHECK_THAT(lab->RunOutput(), Catch::Contains("# ran on host"));

  // The same files under a serial rspec on the coordinator's machine.
  std::string out;
  RunCommand({"sh", "-c", "cd '" + lab->project() + "' && TEST_ENV_NUMBER= rspec --format json --out serial.json >/dev/null 2>&1; cat serial.json"},
             &out);
  ReportCounts serial = CountsOf(nlohmann::json::parse(out, nullptr, false));
  CHECK(serial.examples == counts.examples);
  CHECK(serial.failures == counts.failures);
  CHECK(serial.pending == counts.pending);
}

TEST_CASE("with --slots 0 only peers run, and with none the run waits and exits 2", "[swarm][netns]") {
  SleepySuite suite{6, 0.2};
  auto lab = MakeSwarm("slots0", 2, suite);
  lab->StartRun("--slots 0 --wait 2");
  CHECK(lab->WaitRun(30s) == 2);
  CHECK_THAT(lab->RunOutput(), Catch::Contains("no peer"));

  StartJoins(*lab, {2});
  lab->StartRun("--slots 0");
  int code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  ReportCounts counts = CountsOf(lab->RunReport());
  CHECK(counts.hosts.size() == 1);
  CHECK(counts.hosts.count("host2"));
}

TEST_CASE("named peers are used where multicast is blocked", "[swarm][netns]") {
  SleepySuite suite{6, 0.3};
  auto lab = MakeSwarm("seeds", 3, suite);
  REQUIRE(lab->net().BlockMulticast().ok());
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 0 --peer " + lab->Address(2) + ":7070 --peer " + lab->Address(3) + ":7070");
  int code = lab->WaitRun(90s);
  RequireExact(*lab, suite, code);
  ReportCounts counts = CountsOf(lab->RunReport());
  CHECK(counts.hosts.count("host2") + counts.hosts.count("host3") >= 1);
  CHECK(counts.hosts.count("") == 0);
}

TEST_CASE("a peer killed with SIGKILL mid-run loses no file and none is counted twice", "[swarm][netns]") {
  SleepySuite suite{10, 2.0};
  auto lab = MakeSwarm("sigkill", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(3, "booted", 60s));
  std::this_thread::sleep_for(1s);  // host 3 is running files now
  pid_t node = lab->NodePid(3);
  REQUIRE(node > 0);
  kill(node, SIGKILL);
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  CHECK_THAT(lab->RunOutput(), Catch::Contains("lost host3"));
  // The guardian ended what the killed node had started.
  std::this_thread::sleep_for(3s);
  CHECK(lab->StrayProcesses(3).empty());
}

TEST_CASE("a peer whose link goes down mid-run: its files go back to the queue", "[swarm][netns]") {
  SleepySuite suite{10, 2.0};
  auto lab = MakeSwarm("linkdown", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(3, "booted", 60s));
  std::this_thread::sleep_for(1s);
  REQUIRE(lab->net().SetLink(3, 0, false).ok());
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  CHECK_THAT(lab->RunOutput(), Catch::Contains("lost host3"));
  // On its side of the cut, the peer gave the run up and freed its slots.
  CHECK(lab->WaitForLog(3, "lost the coordinator", 15s));
  CHECK(lab->StrayProcesses(3).empty());
}

TEST_CASE("a peer joining mid-run starts pulling", "[swarm][netns]") {
  SleepySuite suite{12, 1.5};
  auto lab = MakeSwarm("latejoin", 3, suite);
  StartJoins(*lab, {2});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(2, "booted", 60s));
  StartJoins(*lab, {3});
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  CHECK(CountsOf(lab->RunReport()).hosts.count("host3"));
}

TEST_CASE("a peer of another protocol version takes no work and both sides say why", "[swarm][netns]") {
  SleepySuite suite{4, 0.1};
  auto lab = MakeSwarm("proto", 2, suite);
  StartJoins(*lab, {2}, {"--protocol-version", "99"});
  lab->StartRun("--slots 1 --peer " + lab->Address(2) + ":7070");
  int code = lab->WaitRun(60s);
  RequireExact(*lab, suite, code);
  CHECK(CountsOf(lab->RunReport()).hosts.count("host2") == 0);
  CHECK_THAT(lab->RunOutput(), Catch::Contains("protocol version 99"));
  CHECK_THAT(lab->JoinLog(2), Catch::Contains("takes no work from here: protocol version 1"));
}

TEST_CASE("the coordinator killed mid-run: peers free their slots within 10 s", "[swarm][netns]") {
  SleepySuite suite{10, 5.0};
  auto lab = MakeSwarm("coordkill", 2, suite);
  StartJoins(*lab, {2});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(2, "booted", 60s));
  std::this_thread::sleep_for(1s);
  const auto killed = std::chrono::steady_clock::now();
  lab->KillRun(SIGKILL);
  REQUIRE(lab->WaitForLog(2, "lost the coordinator", 10s));
  CHECK(std::chrono::steady_clock::now() - killed < 10s);
  auto status = lab->Status(2);
  INFO(status.dump());
  REQUIRE(status.is_object());
  CHECK(status["nodes"][0]["idle"] == 2);
  CHECK(status["nodes"][0]["runs"].empty());
  CHECK(lab->StrayProcesses(2).empty());
}

TEST_CASE("join stopped with SIGTERM mid-run hands its files back, nothing lost", "[swarm][netns]") {
  SleepySuite suite{10, 2.0};
  auto lab = MakeSwarm("sigterm", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(3, "booted", 60s));
  std::this_thread::sleep_for(1s);
  CHECK(lab->StopJoin(3, SIGTERM) == 0);
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  CHECK_THAT(lab->RunOutput(), Catch::Contains("host3 handed back"));
}

TEST_CASE("join killed with SIGKILL mid-run: its node hands its files back and nothing it started survives", "[swarm][netns]") {
  SleepySuite suite{10, 2.0};
  auto lab = MakeSwarm("guardkill", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(3, "booted", 60s));
  std::this_thread::sleep_for(1s);
  pid_t node = lab->NodePid(3);
  REQUIRE(node > 0);
  kill(lab->JoinPid(3), SIGKILL);  // the process the user started
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  // The node learnt of it at once (a parent-death signal) and left as on SIGTERM.
  CHECK_THAT(lab->RunOutput(), Catch::Contains("host3 handed back"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (kill(node, 0) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  CHECK(kill(node, 0) != 0);
  CHECK(lab->StrayProcesses(3).empty());
}

TEST_CASE("status lists every node with its slots and the runs it serves", "[swarm][netns]") {
  SleepySuite suite{8, 2.0};
  auto lab = MakeSwarm("status", 3, suite);
  StartJoins(*lab, {2, 3});
  lab->StartRun("--slots 1");
  REQUIRE(lab->WaitForLog(2, "booted", 60s));
  auto status = lab->Status(2);
  INFO(status.dump(2));
  REQUIRE(status.is_object());
  CHECK(status["version"] == 1);
  std::map<std::string, nlohmann::json> by_host;
  for (const auto& node : status["nodes"]) by_host[node.value("host", "")] = node;
  REQUIRE(by_host.count("host2"));
  REQUIRE(by_host.count("host3"));
  const auto& self = by_host["host2"];
  CHECK(self["self"] == true);
  CHECK(self["slots"] == 2);
  CHECK(self["busy"] == 2);
  CHECK(self["idle"] == 0);
  REQUIRE(self["runs"].size() == 1);
  CHECK(self["runs"][0]["phase"] == "running");
  CHECK(self["runs"][0]["snapshot"].get<std::string>().size() == 40);
  CHECK(by_host["host3"]["self"] == false);
  CHECK(by_host["host3"]["address"] == lab->Address(3) + ":7070");
  CHECK(by_host["host3"]["reachable"] == true);
  int code = lab->WaitRun(120s);
  RequireExact(*lab, suite, code);
  auto after = lab->Status(2);
  CHECK(after["nodes"][0]["idle"] == 2);
}
