// The swarm on loopback, where no namespace is needed: real `specswarm join` nodes and real
// runs on 127.0.0.1, plus a hand-driven peer speaking the real protocol (node/protocol.h) for
// what a well-behaved node never does: late results, malformed bytes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
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
  // argv for `specswarm ARGS` as this machine.
  std::vector<std::string> Specswarm(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = EnvArgs();
    argv.push_back(SPECSWARM_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
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

// Trust (node/gatekeeper.h): what a client outside the swarm can do to a node, and what a node
// outside the swarm can get from a coordinator. Raw sockets, so that nothing but the key differs
// from a member's.
namespace {

// A failed CURVE handshake, or a client that hung up during one (a plain-text client does either).
constexpr const char* kRefusedHandshake = "refused a connection that";
constexpr const char* kRefusedByZap = "refused a connection from 127.0.0.1: it does not hold this swarm's key";

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Counts a socket's events, as ZeroMQ's monitor reports them.
class EventCounter {
 public:
  EventCounter(zmq::context_t& context, zmq::socket_t& socket) : pair_(context, zmq::socket_type::pair) {
    static std::atomic<int> counter{0};
    const std::string endpoint = "inproc://trust-test-monitor-" + std::to_string(counter++);
    REQUIRE(zmq_socket_monitor(socket.handle(), endpoint.c_str(), ZMQ_EVENT_ALL) == 0);
    pair_.set(zmq::sockopt::linger, 0);
    pair_.connect(endpoint);
  }
  int Count(uint16_t kind) {
    zmq::message_t frame;
    while (pair_.recv(frame, zmq::recv_flags::dontwait)) {
      uint16_t event = 0;
      if (frame.size() >= sizeof event) std::memcpy(&event, frame.data(), sizeof event);
      while (pair_.get(zmq::sockopt::rcvmore)) (void)pair_.recv(frame, zmq::recv_flags::dontwait);
      ++counts_[event];
    }
    return counts_[kind];
  }

 private:
  zmq::socket_t pair_;
  std::map<uint16_t, int> counts_;
};

// A client that knows the swarm's public key (it is no secret to a member's machine) but not its
// secret: it completes CURVE with a keypair of its own, and only the ZAP check stops it.
zmq::socket_t Impostor(zmq::context_t& context, const std::string& endpoint) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  char public_key[41] = {}, secret_key[41] = {};
  REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_serverkey, TestSwarmKey().public_z85);
  socket.set(zmq::sockopt::curve_publickey, std::string(public_key));
  socket.set(zmq::sockopt::curve_secretkey, std::string(secret_key));
  socket.connect(endpoint);
  return socket;
}

// Every frame any of `sockets` receives within `wait`.
int FramesWithin(std::vector<zmq::socket_t*> sockets, std::chrono::milliseconds wait) {
  int frames = 0;
  const auto deadline = Clock::now() + wait;
  while (Clock::now() < deadline) {
    std::vector<zmq_pollitem_t> items;
    for (auto* s : sockets) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
    zmq_poll(items.data(), static_cast<int>(items.size()), 50);
    for (auto* s : sockets) {
      zmq::message_t frame;
      while (s->recv(frame, zmq::recv_flags::dontwait)) ++frames;
    }
  }
  return frames;
}

// The node's status as a member asks for it, or null.
nlohmann::json MemberStatus(zmq::context_t& context, int port) {
  auto socket = node::ConnectClient(context, node::TcpEndpoint("127.0.0.1", port), &TestSwarmKey());
  REQUIRE(socket.ok());
  node::Send(*socket, node::StatusQueryMsg{});
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    zmq_pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, 100);
    while (auto received = node::Receive(*socket)) {
      if (!received->message.ok()) continue;
      if (auto* r = std::get_if<node::StatusReplyMsg>(&*received->message)) return nlohmann::json::parse(r->json, nullptr, false);
    }
  }
  return nullptr;
}

// Joins a thread on the way out, also when a REQUIRE throws.
struct JoinOnExit {
  std::thread& thread;
  ~JoinOnExit() {
    if (thread.joinable()) thread.join();
  }
};

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace

TEST_CASE("a client without the swarm key gets no answer to any message mid-run, and the node logs each kind once",
          "[swarm][trust]") {
  Machine peer_machine, coordinator;
  LoopbackJoin join(peer_machine);
  REQUIRE(join.port() > 0);
  testing::TempDir project_dir;
  WriteSuite(project_dir.path(), 8, 1.5);  // 6 s on the node's 2 slots: the strangers come mid-run
  const std::string report = project_dir.str() + "/report.json";
  std::thread run([&] {
    testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 0 --peer " + join.peer() + " --json " + report +
                            " > run.log 2>&1",
                        project_dir.str(), coordinator.Env());
  });
  JoinOnExit joiner{run};

  // The member's run is being served: its id is what a stranger would ask for.
  REQUIRE(WaitFor([&] { return join.Log().find("booted, pulling") != std::string::npos; }, 30s));
  std::smatch m;
  const std::string log_at_start = join.Log();
  REQUIRE(std::regex_search(log_at_start, m, std::regex("accepted run ([0-9a-f]+)")));
  const std::string run_id = m[1];

  zmq::context_t context(1);
  const std::string endpoint = node::TcpEndpoint("127.0.0.1", join.port());
  const node::SwarmKey other = *node::NewSwarmKey("other");
  auto plain = node::ConnectClient(context, endpoint, nullptr);
  REQUIRE(plain.ok());

  node::OfferMsg offer;
  offer.run_id = "5a5a5a5a5a5a5a5a";
  offer.commit = std::string(40, 'a');
  offer.coordinator_host = "stranger";
  offer.slots_wanted = 2;
  offer.reserve_only = true;  // a member's machine would get its 2 slots held
  const std::vector<node::Message> messages{node::HelloMsg{node::kProtocolVersion, "stranger", "stranger", "0.1.0"},
                                            offer, node::StatusQueryMsg{},
                                            node::ChunkRequestMsg{run_id, "pack", 0}};
  // Plain text first: the node should log that refusal...
  const auto sent = Clock::now();
  for (const auto& message : messages) CHECK(node::Send(*plain, message));
  // Whichever side notices the mismatch first (the client hangs up, or the node fails the
  // handshake), the node logs it.
  CHECK(WaitFor([&] { return join.Log().find(kRefusedHandshake) != std::string::npos; }, 1500ms));
  // ...and count the next ones (another swarm's key: the same failed handshake, which the node
  // always notices first). The impostor is denied by ZAP, and its socket gives up then: its
  // frames are queued only until that.
  auto stranger = node::ConnectClient(context, endpoint, &other);
  REQUIRE(stranger.ok());
  EventCounter stranger_events(context, *stranger);
  zmq::socket_t impostor = Impostor(context, endpoint);
  for (const auto& message : messages) {
    CHECK(node::Send(*stranger, message));
    (void)node::Send(impostor, message);
  }
  // Nothing comes back: the handshakes never complete.
  CHECK(FramesWithin({&*plain, &*stranger, &impostor}, 2500ms) == 0);
  CHECK(Clock::now() - sent < 8s);
  // ZeroMQ kept trying: the stranger connected over and over.
  CHECK(stranger_events.Count(ZMQ_EVENT_CONNECTED) > 3);
  CHECK(WaitFor([&] { return join.Log().find(kRefusedHandshake) != std::string::npos; }, 3s));
  CHECK(WaitFor([&] { return join.Log().find(kRefusedByZap) != std::string::npos; }, 3s));

  // A member is answered at once, and the run is served as if nothing had happened.
  nlohmann::json status = MemberStatus(context, join.port());
  INFO(status.dump(2));
  REQUIRE(status.is_object());
  REQUIRE(status["node"]["runs"].size() == 1);
  CHECK(status["node"]["runs"][0]["run_id"] == run_id);
  CHECK(status["node"]["busy"] == 2);
  run.join();
  std::string log = join.Log();
  INFO("join's log:\n" << log);
  // One line per kind of refusal, however often ZeroMQ retried: the handshakes that failed
  // (plain text, another swarm's key) carry no address; the impostor's ZAP denial does.
  CHECK(Count(log, kRefusedHandshake) == 1);
  CHECK(Count(log, kRefusedByZap) == 1);
  CHECK(Count(log, "refused") == 2);
  CHECK(Count(log, "accepted run") == 1);
  CHECK(log.find("holding") == std::string::npos);
  CHECK(log.find("stranger") == std::string::npos);
  auto json = ReadJson(report);
  INFO(testing::ReadFile(project_dir.path() / "run.log"));
  CHECK(json["summary"]["example_count"] == 8);
  for (const auto& e : json["examples"]) CHECK(e["host"] == "loopy");
}

TEST_CASE("a node with another swarm's key or none, named as a peer, never receives a message of the run", "[swarm][trust]") {
  Machine coordinator;
  testing::TempDir project_dir;
  WriteSuite(project_dir.path(), 4, 1.6);  // over 6 s on one slot: past the 5 s a peer has to answer
  zmq::context_t context(1);
  const node::SwarmKey other = *node::NewSwarmKey("rogue");
  auto rogue = node::BindServer(context, 0, &other);
  auto plain = node::BindServer(context, 0, nullptr);
  REQUIRE(rogue.ok());
  REQUIRE(plain.ok());
  EventCounter rogue_events(context, *rogue), plain_events(context, *plain);
  const std::string rogue_peer = "127.0.0.1:" + std::to_string(node::BoundPort(*rogue));
  const std::string plain_peer = "127.0.0.1:" + std::to_string(node::BoundPort(*plain));

  const std::string report = project_dir.str() + "/report.json";
  std::atomic<bool> run_over{false};
  const auto started = Clock::now();
  std::thread run([&] {
    testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 1 --peer " + rogue_peer + " --peer " + plain_peer +
                            " --json " + report + " > run.log 2>&1",
                        project_dir.str(), coordinator.Env());
    run_over = true;
  });
  JoinOnExit joiner{run};
  int frames = 0;
  while (!run_over && Clock::now() - started < 60s) frames += FramesWithin({&*rogue, &*plain}, 200ms);
  run.join();
  frames += FramesWithin({&*rogue, &*plain}, 200ms);
  const std::string output = testing::ReadFile(project_dir.path() / "run.log");
  INFO(output);
  CHECK(frames == 0);  // no Hello, no Offer, no pack, no lease
  // The coordinator did knock (again and again where the rogue hung up on it; a plain-text node
  // fails CURVE on the coordinator's side, which then gives up); neither handshake completed.
  CHECK(rogue_events.Count(ZMQ_EVENT_ACCEPTED) > 1);
  CHECK(plain_events.Count(ZMQ_EVENT_ACCEPTED) >= 1);
  CHECK(rogue_events.Count(ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0);
  CHECK(plain_events.Count(ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0);
  CHECK(Clock::now() - started < 30s);
  CHECK_THAT(output, Catch::Contains("not used: no answer from tcp://" + rogue_peer + ": not in the same swarm, or not running"));
  CHECK_THAT(output, Catch::Contains("not used: no answer from tcp://" + plain_peer + ": not in the same swarm, or not running"));
  CHECK_THAT(output, Catch::Contains("Files without a result: 0"));
  auto json = ReadJson(report);
  CHECK(json["summary"]["example_count"] == 4);
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  for (const auto& e : json["examples"]) CHECK(e["host"] == std::string(hostname));
}

// A named peer has no mDNS record: status once aborted on its empty advert.
TEST_CASE("status naming a node of another swarm with --peer lists it as not answering", "[swarm][trust]") {
  Machine member, outsider;
  const node::SwarmKey other = *node::NewSwarmKey("other");
  REQUIRE(node::SaveSwarmKey(outsider.dir.str() + "/config/specswarm/swarm.key", other, true).ok());
  LoopbackJoin member_join(member), outsider_join(outsider);
  REQUIRE(member_join.port() > 0);
  REQUIRE(outsider_join.port() > 0);
  auto status = testing::RunCommand(std::string(SPECSWARM_BINARY) + " status --json --timeout 1 --port " +
                                        std::to_string(outsider_join.port()) + " --peer " + member_join.peer(),
                                    outsider.dir.str(), outsider.Env());
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  auto json = nlohmann::json::parse(status.out, nullptr, false);
  REQUIRE(json["nodes"].size() == 2);
  CHECK(json["nodes"][1]["reachable"] == false);
  CHECK(json["nodes"][1]["excluded"] ==
        "no answer from tcp://" + member_join.peer() + " within 1 s: not in the same swarm, or not running");
  CHECK(WaitFor([&] { return member_join.Log().find(kRefusedHandshake) != std::string::npos; }, 3s));
}

// The feed the tray reads: `status --json --watch` prints one document per line, round after
// round, says when this machine's node is gone, and goes on.
TEST_CASE("status --json --watch prints a document per round and follows the local node going away", "[swarm]") {
  Machine machine, peer;
  std::optional<LoopbackJoin> local(std::in_place, machine);
  LoopbackJoin peer_join(peer);
  REQUIRE(local->port() > 0);
  REQUIRE(peer_join.port() > 0);
  auto watch = ChildProcess::Spawn(machine.Specswarm({"status", "--json", "--watch", "0.2", "--timeout", "1", "--port",
                                                     std::to_string(local->port()), "--peer", peer_join.peer()}),
                                   {.pipes = true, .log_path = machine.dir.str() + "/watch.log"});
  REQUIRE(watch);
  for (int round = 0; round < 3; ++round) {
    auto line = watch->ReadLine(Clock::now() + 5s);
    REQUIRE(line);
    INFO(*line);
    auto doc = nlohmann::json::parse(*line, nullptr, false);
    REQUIRE(doc.is_object());
    REQUIRE(doc["nodes"].size() == 2);
    CHECK(doc["nodes"][0]["self"] == true);
    CHECK(doc["nodes"][0]["slots"] == 2);
    CHECK(doc["nodes"][1]["reachable"] == true);  // the peer, asked over the link kept open
  }
  local.reset();  // stops this machine's join
  bool gone = false;
  for (int round = 0; round < 20 && !gone; ++round) {
    auto line = watch->ReadLine(Clock::now() + 5s);
    REQUIRE(line);
    auto doc = nlohmann::json::parse(*line, nullptr, false);
    REQUIRE(doc.is_object());
    gone = doc["nodes"].empty() &&
           doc.value("error", "").find("no node of this swarm is running on this machine") != std::string::npos;
  }
  CHECK(gone);
  CHECK(watch->Running());  // a watch goes on: the node may come back
  CHECK(watch->Stop() == -15);
}

TEST_CASE("discover --json --watch lists the peers again every round", "[swarm]") {
  Machine machine, peer;
  LoopbackJoin peer_join(peer);
  REQUIRE(peer_join.port() > 0);
  auto watch = ChildProcess::Spawn(
      machine.Specswarm({"discover", "--json", "--watch", "0.2", "--timeout", "0.3", "--peer", peer_join.peer()}),
      {.pipes = true, .log_path = machine.dir.str() + "/discover.log"});
  REQUIRE(watch);
  for (int round = 0; round < 2; ++round) {
    auto line = watch->ReadLine(Clock::now() + 5s);
    REQUIRE(line);
    INFO(*line);
    auto doc = nlohmann::json::parse(*line, nullptr, false);
    REQUIRE(doc.is_object());
    REQUIRE(doc["peers"].size() == 1);
    CHECK(doc["peers"][0]["address"] == peer_join.peer());
    CHECK(doc["peers"][0]["reachable"] == true);
  }
  auto bad = testing::RunCommand(std::string(SPECSWARM_BINARY) + " discover --watch 1", machine.dir.str(), machine.Env());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "specswarm: --watch prints JSON documents: add --json\n");
}

// A node named twice (the local join lists it, and --peer names it) is asked once and listed once.
TEST_CASE("status lists a node named both by the local join and by --peer once, as answering", "[swarm]") {
  Machine machine, peer;
  LoopbackJoin peer_join(peer);
  REQUIRE(peer_join.port() > 0);
  LoopbackJoin local(machine, {"--peer", peer_join.peer()});
  REQUIRE(local.port() > 0);
  nlohmann::json doc;
  // The local join lists its seed once it has probed it.
  REQUIRE(WaitFor([&] {
    auto status = testing::RunCommand(std::string(SPECSWARM_BINARY) + " status --json --timeout 2 --port " +
                                          std::to_string(local.port()) + " --peer " + peer_join.peer(),
                                      machine.dir.str(), machine.Env());
    doc = nlohmann::json::parse(status.out, nullptr, false);
    return status.exit_code == 0 && doc.is_object() && doc["nodes"].size() >= 2;
  }, 10s));
  INFO(doc.dump(2));
  REQUIRE(doc["nodes"].size() == 2);
  CHECK(doc["nodes"][1]["reachable"] == true);
  CHECK(doc["nodes"][1]["address"] == peer_join.peer());
}
