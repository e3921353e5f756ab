// The swarm on loopback, where no namespace is needed: real `specswarm join` nodes and real
// runs on 127.0.0.1, plus a hand-driven peer speaking the real protocol (node/protocol.h) for
// what a well-behaved node never does: late results, malformed bytes.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "node/protocol.h"
#include "node/sockets.h"
#include "node/swarm_key.h"
#include "test_support.h"

using namespace specswarm;
using namespace std::chrono_literals;
using testing::ChildProcess;
using Clock = std::chrono::steady_clock;

namespace {

namespace fs = std::filesystem;

// The swarm every Machine of this file belongs to: one key, made once.
const node::SwarmKey& TestSwarmKey() {
  static const node::SwarmKey key = *node::NewSwarmKey("loopback");
  return key;
}

// A machine of its own: HOME and the XDG folders under one temporary directory, and the swarm
// key in its config folder.
struct Machine {
  Machine() { REQUIRE(node::SaveSwarmKey(dir.str() + "/config/specswarm/swarm.key", TestSwarmKey(), false).ok()); }
  testing::TempDir dir;
  std::map<std::string, std::string> Env() const {
    return {{"HOME", dir.str() + "/home"},
            {"XDG_STATE_HOME", dir.str() + "/state"},
            {"XDG_CACHE_HOME", dir.str() + "/cache"},
            {"XDG_CONFIG_HOME", dir.str() + "/config"},
            {"SPECSWARM_NO_MDNS", "1"}};
  }
  std::vector<std::string> EnvArgs() const {
    std::vector<std::string> args{"env"};
    for (const auto& [k, v] : Env()) args.push_back(k + "=" + v);
    return args;
  }
};

// `specswarm join` on loopback, on a free port it reports in its log.
class LoopbackJoin {
 public:
  LoopbackJoin(const Machine& machine, const std::vector<std::string>& extra = {}) : log_(machine.dir.str() + "/join.log") {
    std::vector<std::string> argv = machine.EnvArgs();
    for (const char* a : {SPECSWARM_BINARY, "join", "--allow-root", "--no-mdns", "--port", "0", "--slots", "2", "--host", "loopy"})
      argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (auto child = ChildProcess::Spawn(argv, {.pipes = false, .log_path = log_})) child_.emplace(std::move(*child));
    const auto deadline = Clock::now() + 10s;
    std::smatch m;
    static const std::regex port_re("on port ([0-9]+)");
    while (Clock::now() < deadline) {
      std::string log = Log();
      if (std::regex_search(log, m, port_re)) {
        port_ = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  int port() const { return port_; }
  std::string peer() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return testing::ReadFile(log_); }

 private:
  std::string log_;
  std::optional<ChildProcess> child_;
  int port_ = 0;
};

// Spec files that each take `seconds`, one example each, all passing.
void WriteSuite(const fs::path& project, int files, double seconds) {
  for (int i = 0; i < files; ++i) {
    testing::WriteFile(project / ("spec/s" + std::to_string(i) + "_spec.rb"),
                       "RSpec.describe 'file " + std::to_string(i) + "' do\n  it('waits') { sleep " +
                           std::to_string(seconds) + " }\nend\n");
  }
  testing::RunCommand("git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm suite",
                      project.string());
}

nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(testing::ReadFile(path), nullptr, false);
}

}  // namespace

TEST_CASE("a malformed message is dropped with a log line and the node keeps serving", "[swarm]") {
  Machine machine;
  LoopbackJoin join(machine);
  REQUIRE(join.port() > 0);
  zmq::context_t context(1);
  auto socket = node::ConnectClient(context, node::TcpEndpoint("127.0.0.1", join.port()), &TestSwarmKey());
  REQUIRE(socket.ok());
  std::string valid = node::Encode(node::HelloMsg{});
  std::vector<std::string> garbage{"", "\xff\xff\xff", valid.substr(0, valid.size() / 2), valid + "x",
                                   std::string("\x92\x05\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 12),
                                   std::string(1 << 16, '\xdc')};
  for (const auto& bytes : garbage) (void)socket->send(zmq::buffer(bytes), zmq::send_flags::none);
  // Two frames where one is expected.
  (void)socket->send(zmq::buffer(valid), zmq::send_flags::sndmore);
  (void)socket->send(zmq::buffer(valid), zmq::send_flags::none);

  node::Send(*socket, node::StatusQueryMsg{});
  std::optional<node::StatusReplyMsg> reply;
  const auto deadline = Clock::now() + 5s;
  while (!reply && Clock::now() < deadline) {
    zmq_pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, 100);
    while (auto received = node::Receive(*socket)) {
      if (received->message.ok()) {
        if (auto* r = std::get_if<node::StatusReplyMsg>(&*received->message)) reply = *r;
      }
    }
  }
  REQUIRE(reply);
  CHECK(nlohmann::json::parse(reply->json)["node"]["host"] == "loopy");
  CHECK_THAT(join.Log(), Catch::Contains("dropped a malformed message"));
}

TEST_CASE("a late result for a lease taken back after the timeout is dropped, never counted", "[swarm]") {
  Machine coordinator;
  testing::TempDir project_dir;
  const fs::path project = project_dir.path();
  WriteSuite(project, 8, 1.5);  // long enough to outlast the take-back

  // A peer that takes one file, keeps heartbeating, never answers in time, then answers late
  // with a result nobody ran: 50 passing examples.
  zmq::context_t context(1);
  auto router = node::BindServer(context, 0, &TestSwarmKey());
  REQUIRE(router.ok());
  const int port = node::BoundPort(*router);

  const std::string report = project_dir.str() + "/report.json";
  std::string command = std::string(SPECSWARM_BINARY) + " run --slots 1 --timeout 2 --peer 127.0.0.1:" +
                        std::to_string(port) + " --json " + report + " > run.log 2>&1";
  std::atomic<bool> run_over{false};
  std::thread run([&] {
    testing::RunCommand(command, project.string(), coordinator.Env());
    run_over = true;
  });

  std::string coordinator_id, run_id;
  int lease = 0;
  Clock::time_point leased;
  bool answered_late = false;
  auto last_beat = Clock::now();
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && !run_over) {
    zmq_pollitem_t item{router->handle(), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, 100);
    while (auto received = node::ReceiveFrom(*router)) {
      if (!received->message.ok()) continue;
      coordinator_id = received->routing_id;
      const node::Message& m = *received->message;
      if (std::get_if<node::HelloMsg>(&m)) {
        node::HelloMsg hello;
        hello.node_id = "latecomer";
        hello.host = "latehost";
        hello.slots = hello.idle = 1;
        node::SendTo(*router, coordinator_id, hello);
      } else if (auto* offer = std::get_if<node::OfferMsg>(&m)) {
        run_id = offer->run_id;
        node::SendTo(*router, coordinator_id, node::AcceptMsg{run_id, 1, {}});
      } else if (std::get_if<node::PackInfoMsg>(&m)) {
        node::SendTo(*router, coordinator_id, node::ReadyMsg{run_id, 1, 0.1});
        node::SendTo(*router, coordinator_id, node::TakeMsg{run_id, 1});
      } else if (auto* l = std::get_if<node::LeaseMsg>(&m)) {
        if (lease == 0) {
          lease = l->lease_id;
          leased = Clock::now();
        }
      } else if (std::get_if<node::FinishMsg>(&m)) {
        node::SendTo(*router, coordinator_id, node::DoneMsg{run_id});
      }
    }
    if (!run_id.empty() && Clock::now() - last_beat > 500ms) {
      // It says it holds the lease: only the timeout can take it back.
      node::SendTo(*router, coordinator_id, node::HeartbeatMsg{run_id, lease ? std::vector<int>{lease} : std::vector<int>{}});
      last_beat = Clock::now();
    }
    // The coordinator takes the lease back after the timeout plus its grace (2 + 5 s).
    if (lease && !answered_late && Clock::now() - leased > 8500ms) {
      exec::UnitResult bogus;
      bogus.file = "spec/s0_spec.rb";
      for (int i = 0; i < 50; ++i) {
        exec::ExampleResult e;
        e.id = "./spec/bogus_spec.rb[1:" + std::to_string(i + 1) + "]";
        e.description = "never ran";
        bogus.examples.push_back(e);
      }
      node::SendTo(*router, coordinator_id, node::ResultMsg{run_id, lease, bogus});
      answered_late = true;
    }
  }
  run.join();
  REQUIRE(lease > 0);
  CHECK(answered_late);
  auto json = ReadJson(report);
  INFO(testing::ReadFile(project / "run.log"));
  CHECK(json["summary"]["example_count"] == 8);
  CHECK_THAT(testing::ReadFile(project / "run.log"), Catch::Contains("did not answer a file within the timeout"));
  CHECK_THAT(testing::ReadFile(project / "run.log"), Catch::Contains("Files without a result: 0"));
}

TEST_CASE("a peer whose setup hook fails takes no work and the run says why", "[swarm]") {
  Machine peer_machine, coordinator;
  LoopbackJoin join(peer_machine);
  REQUIRE(join.port() > 0);
  testing::TempDir project_dir;
  testing::WriteFile(project_dir.path() / ".specswarm.yml",
                     "setup:\n  per_peer:\n    - name: gems\n      run: echo no gems here; exit 3\n");
  WriteSuite(project_dir.path(), 3, 0.2);
  const std::string report = project_dir.str() + "/report.json";
  auto run = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 1 --peer " + join.peer() + " --json " + report,
                                 project_dir.str(), coordinator.Env());
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.err + run.out, Catch::Contains("loopy takes no work"));
  CHECK_THAT(run.err + run.out, Catch::Contains("gems"));
  auto json = ReadJson(report);
  CHECK(json["summary"]["example_count"] == 3);
  for (const auto& e : json["examples"]) CHECK(e["host"] != "loopy");
}

TEST_CASE("a peer with another Ruby than the project's .ruby-version takes no work", "[swarm]") {
  Machine peer_machine, coordinator;
  LoopbackJoin join(peer_machine);
  REQUIRE(join.port() > 0);
  testing::TempDir project_dir;
  testing::WriteFile(project_dir.path() / ".ruby-version", "1.8.7\n");
  WriteSuite(project_dir.path(), 2, 0.1);
  auto run = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 1 --peer " + join.peer(), project_dir.str(),
                                 coordinator.Env());
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("the project's .ruby-version asks for 1.8.7"));
  CHECK_THAT(join.Log(), Catch::Contains("declined run"));
}

TEST_CASE("a run's local slots come out of this machine's join budget", "[swarm]") {
  Machine machine;  // the same machine runs join and two runs
  LoopbackJoin join(machine);
  REQUIRE(join.port() > 0);
  testing::TempDir slow_dir, quick_dir;
  WriteSuite(slow_dir.path(), 2, 4.0);
  WriteSuite(quick_dir.path(), 2, 0.1);
  std::thread slow([&] {
    testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 2 > run.log 2>&1", slow_dir.str(), machine.Env());
  });
  REQUIRE_NOTHROW([&] {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline && join.Log().find("holding 2 slots") == std::string::npos) std::this_thread::sleep_for(50ms);
  }());
  REQUIRE_THAT(join.Log(), Catch::Contains("holding 2 slots"));
  auto quick = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 2", quick_dir.str(), machine.Env());
  slow.join();
  INFO(quick.out << quick.err);
  CHECK_THAT(quick.out, Catch::Contains("had 0 of 2 slots idle"));
  CHECK_THAT(quick.out, Catch::Contains("on 1 local slot"));
}

TEST_CASE("a run with --local never offers itself to a peer", "[swarm]") {
  Machine peer_machine, coordinator;
  LoopbackJoin join(peer_machine);
  REQUIRE(join.port() > 0);
  testing::TempDir project_dir;
  WriteSuite(project_dir.path(), 2, 0.1);
  auto run = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --local --slots 1 --peer " + join.peer(),
                                 project_dir.str(), coordinator.Env());
  CHECK(run.exit_code == 0);
  CHECK(join.Log().find("accepted run") == std::string::npos);
}
