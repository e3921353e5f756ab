// Swarm dispatch throughput on loopback (issue 9): how many files per second a coordinator hands
// out and gets answered when the units themselves cost nothing.
//
// One process, two threads, two ZeroMQ contexts (one per "machine", each with its one I/O thread
// as `specswarm run` and `specswarm join` have):
//   - the coordinator (main thread): the real Scheduler over N no-op units, one DEALER per peer
//     (ConnectClient), and per peer a link that follows PeerLink message for message: Hello ->
//     Offer, Take -> Scheduler::Take + Lease (PeerLink::SendLease), Example -> Scheduler::Example,
//     Result -> holder check, host stamp, Scheduler::Done; heartbeats; Finish -> Done. Its loop
//     is SwarmRun::Loop's (poll every link socket with <= 250 ms, Process + Tick each link,
//     ServeWaiting when work came back).
//   - the peers (second thread): P ROUTERs (BindServer, as JoinDaemon::Serve: up to 1000 frames
//     per poll, dispatch by run id and routing id) each serving one run of S slots like
//     ServedRun + SlotPool: an idle slot Takes (one Take outstanding per slot), a Lease goes to
//     the ready queue and the pool dispatches it, the "worker" finishes at once and the slot's
//     UnitResult (one passed example per unit by default, realistic ids and descriptions) goes
//     back as a Result, then the idle slot pulls again.
// What is skipped: the pack transfer and the boot (Offer is answered by Ready), the Ruby
// workers (the no-op), the console observer (a counter here).
//
// The clock runs from the first Take the coordinator receives to Scheduler::done().
//   dispatch_bench [--units N] [--peers P] [--slots S] [--examples E] [--example-msgs] [--curve]
//   dispatch_bench --components [--units N]     (in-process costs per unit, no sockets)
//   dispatch_bench --raw [--units N] [--peers P] [--slots S] [--curve]   (the same frames, ZeroMQ alone)
// --curve (issue 10): every link CURVE with a fresh swarm key (NewSwarmKey), as `join` and `run`
// have them: the peers' context holds a Gatekeeper (the ZAP handler) opened before the ROUTERs
// bind, watching the first ROUTER (one Gatekeeper per context, and the simulated peers share one
// context; the monitor only logs refused handshakes), its sockets in the peers' poll and
// Service() called on every pass before the ROUTERs are read, as JoinDaemon::Serve does; the
// coordinator's DEALERs present the key. Without it the links are plain text (key nullptr), the
// issue-9 figures. The handshake itself is outside the clock (it ends before the first Take).
// Prints one line of key=value pairs; exit status 1 when a check failed: a unit lost, answered
// twice or altered, a message the sender could not queue, an Example message that never arrived
// (a ROUTER drops silently at its high-water mark), a peer silent for kHeartbeatExpiry, a
// deadline passed.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "node/gatekeeper.h"
#include "node/protocol.h"
#include "node/scheduler.h"
#include "node/sockets.h"
#include "node/swarm_key.h"

namespace {

namespace node = specswarm::node;
namespace exec = specswarm::exec;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double ProcessCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

struct Options {
  int units = 100000;
  int peers = 4;
  int slots = 4;
  int examples = 1;           // passed examples per unit result
  bool example_msgs = false;  // also send one Example message per example, as a real peer does
  bool components = false;
  bool raw = false;
  bool curve = false;         // every link CURVE with a swarm key, a Gatekeeper on the peers' side
  double deadline = 300;      // seconds before the bench gives up
};

const std::string kRunId = "20240501-120000-bench";

std::string SpecFile(int i) { return "spec/f" + std::to_string(i) + "_spec.rb"; }

std::vector<node::SpecUnit> MakeUnits(int n) {
  std::vector<node::SpecUnit> units;
  units.reserve(n);
  for (int i = 1; i <= n; ++i) {
    node::SpecUnit unit;
    unit.id = i;
    unit.file = SpecFile(i);
    unit.estimate = 0.01;
    units.push_back(std::move(unit));
  }
  return units;
}

// What a slot's SlotPool assembles from the worker's events for one file of `examples` passed
// examples (SlotPool::DispatchTo, Handle, FinishUnit).
exec::UnitResult NoOpResult(const node::Lease& lease, int slot, int examples, double wall_time) {
  exec::UnitResult unit;
  unit.unit_id = lease.unit.id;
  unit.file = lease.unit.file;
  unit.ids = lease.unit.ids;
  unit.slot = slot;
  unit.outcome = exec::UnitOutcome::kCompleted;
  const std::string path = "./" + lease.unit.file;
  const std::string name = "F" + std::to_string(lease.unit.id);
  unit.groups.push_back(exec::GroupInfo{path + "[1]", name, false});
  unit.outline.push_back(0);
  for (int e = 1; e <= examples; ++e) {
    exec::ExampleResult ex;
    ex.id = path + "[1:" + std::to_string(e) + "]";
    ex.description = "returns the expected value for case " + std::to_string(e);
    ex.full_description = name + " " + ex.description;
    ex.status = exec::ExampleStatus::kPassed;
    ex.file_path = path;
    ex.line_number = 2 + 4 * e;
    ex.run_time = 0.000125;
    ex.slot = slot;
    unit.examples.push_back(std::move(ex));
    unit.outline.push_back(~static_cast<int>(unit.examples.size() - 1));
  }
  unit.wall_time = wall_time;
  return unit;
}

// ---------------------------------------------------------------------------------------------
// Peer side: JoinDaemon + ServedRun + a SlotPool whose workers finish every unit at once.

struct PeerStats {
  uint64_t send_failures = 0;
  uint64_t malformed = 0;
  uint64_t files_done = 0;
};

class SimServedRun {
 public:
  SimServedRun(zmq::socket_t* router, std::string routing_id, node::OfferMsg offer, std::string host, int slots,
               const Options& options, PeerStats* stats)
      : router_(router), routing_id_(std::move(routing_id)), offer_(std::move(offer)), host_(std::move(host)),
        slots_(slots), options_(options), stats_(stats) {
    last_heard_ = last_sent_ = Clock::now();
  }

  const std::string& routing_id() const { return routing_id_; }
  bool over() const { return over_; }

  // Accept, pack, checkout and boot skipped: the slots are booted (SlotPool::OnBooted -> Ready),
  // then each booted slot is dispatched (DispatchTo -> Take).
  void Booted() {
    Send(node::ReadyMsg{offer_.run_id, slots_, 0.0});
    Dispatch();
  }

  void Handle(const node::Message& message) {
    last_heard_ = Clock::now();
    if (auto* lease = std::get_if<node::LeaseMsg>(&message)) {
      asked_.erase(lease->slot);
      node::SpecUnit unit;
      unit.id = lease->unit_id;
      unit.file = lease->file;
      unit.ids = lease->ids;
      unit.except_ids = lease->except_ids;
      ready_.push_back(node::Lease{lease->lease_id, std::move(unit), lease->slot});
      Dispatch();
    } else if (std::get_if<node::FinishMsg>(&message)) {
      Send(node::DoneMsg{offer_.run_id});  // no after(:suite) to run
      over_ = true;
    } else if (std::get_if<node::CancelMsg>(&message)) {
      over_ = true;
    }
  }

  // ServedRun::Process: heartbeats.
  void Process() {
    if (!over_ && Since(last_sent_) >= node::kHeartbeatInterval) Send(node::HeartbeatMsg{offer_.run_id, {}});
  }

 private:
  void Send(const node::Message& message) {
    if (!node::SendTo(*router_, routing_id_, message)) ++stats_->send_failures;
    last_sent_ = Clock::now();
  }

  // ServedRun::Take.
  std::optional<node::Lease> Take(int slot) {
    if (!ready_.empty()) {
      node::Lease lease = std::move(ready_.front());
      ready_.pop_front();
      lease.slot = slot;
      return lease;
    }
    if (!asked_.count(slot)) {
      asked_.insert(slot);
      Send(node::TakeMsg{offer_.run_id, slot});
    }
    return std::nullopt;
  }

  // SlotPool::Dispatch with no-op workers: an idle slot takes, finishes at once (FinishUnit ->
  // ServedRun::Done -> Result) and, idle again, takes the next (Process -> DispatchTo).
  void Dispatch() {
    for (int slot = 1; slot <= slots_; ++slot) {
      while (std::optional<node::Lease> lease = Take(slot)) {
        const auto started = Clock::now();
        if (options_.example_msgs) {
          exec::UnitResult partial = NoOpResult(*lease, slot, options_.examples, 0);
          for (const auto& e : partial.examples) Send(node::ExampleMsg{offer_.run_id, lease->id, e});
        }
        exec::UnitResult result = NoOpResult(*lease, slot, options_.examples, Since(started));
        ++stats_->files_done;
        result.host = host_;
        Send(node::ResultMsg{offer_.run_id, lease->id, std::move(result)});
      }
    }
  }

  zmq::socket_t* router_;
  std::string routing_id_;
  node::OfferMsg offer_;
  std::string host_;
  int slots_;
  const Options& options_;
  PeerStats* stats_;
  std::deque<node::Lease> ready_;
  std::set<int> asked_;
  bool over_ = false;
  Clock::time_point last_heard_, last_sent_;
};

class SimPeer {
 public:
  SimPeer(zmq::socket_t router, int index, int slots, const Options& options, PeerStats* stats)
      : router_(std::move(router)), slots_(slots), options_(options), stats_(stats) {
    node_id_ = "bench-peer-" + std::to_string(index);
    host_ = "peer" + std::to_string(index) + ".local";
  }

  zmq::socket_t& router() { return router_; }
  bool finished() const { return served_ > 0 && runs_.empty(); }

  // JoinDaemon::Serve's inner part, after the poll.
  void Process() {
    for (int i = 0; i < 1000; ++i) {
      auto received = node::ReceiveFrom(router_);
      if (!received) break;
      if (!received->message.ok()) {
        ++stats_->malformed;
        continue;
      }
      HandleMessage(received->routing_id, *received->message);
    }
    for (auto it = runs_.begin(); it != runs_.end();) {
      it->second->Process();
      it = it->second->over() ? runs_.erase(it) : std::next(it);
    }
  }

 private:
  // JoinDaemon::HandleMessage.
  void HandleMessage(const std::string& from, const node::Message& message) {
    if (std::get_if<node::HelloMsg>(&message)) {
      node::HelloMsg hello;
      hello.node_id = node_id_;
      hello.host = host_;
      hello.version = "0.1.0";
      hello.slots = slots_;
      hello.idle = runs_.empty() ? slots_ : 0;
      if (!node::SendTo(router_, from, hello)) ++stats_->send_failures;
      return;
    }
    if (auto* offer = std::get_if<node::OfferMsg>(&message)) {
      if (runs_.count(offer->run_id)) return;
      auto run = std::make_unique<SimServedRun>(&router_, from, *offer, host_, std::min(slots_, offer->slots_wanted),
                                                options_, stats_);
      SimServedRun* r = run.get();
      runs_[offer->run_id] = std::move(run);
      ++served_;
      r->Booted();
      return;
    }
    std::string run_id;
    std::visit([&run_id](const auto& m) {
      if constexpr (requires { m.run_id; }) run_id = m.run_id;
    }, message);
    auto run = runs_.find(run_id);
    if (run == runs_.end() || run->second->routing_id() != from) return;
    run->second->Handle(message);
  }

  zmq::socket_t router_;
  int slots_;
  const Options& options_;
  PeerStats* stats_;
  std::string node_id_, host_;
  std::map<std::string, std::unique_ptr<SimServedRun>> runs_;
  int served_ = 0;
};

// The peers' thread: JoinDaemon::Serve's loop over every simulated node's ROUTER.
void ServePeers(std::vector<std::unique_ptr<SimPeer>>* peers, node::Gatekeeper* gatekeeper, std::atomic<bool>* stop,
                double* cpu) {
  const double cpu0 = ThreadCpu();
  while (!stop->load()) {
    std::vector<zmq_pollitem_t> items;
    for (auto& peer : *peers) items.push_back({peer->router().handle(), 0, ZMQ_POLLIN, 0});
    if (gatekeeper) gatekeeper->AppendPollItems(&items);
    zmq_poll(items.data(), static_cast<int>(items.size()), 100);
    if (gatekeeper) {
      for (const std::string& line : gatekeeper->Service()) std::fprintf(stderr, "gatekeeper: %s\n", line.c_str());
    }
    bool all_finished = true;
    for (auto& peer : *peers) {
      peer->Process();
      all_finished &= peer->finished();
    }
    if (all_finished) break;
  }
  // The goodbyes must reach the sockets before the context closes (as JoinDaemon::Serve).
  for (auto& peer : *peers) {
    zmq_pollitem_t item{peer->router().handle(), 0, ZMQ_POLLOUT, 0};
    zmq_poll(&item, 1, 200);
  }
  *cpu = ThreadCpu() - cpu0;
}

// ---------------------------------------------------------------------------------------------
// Coordinator side: PeerLink from Hello on (the pack and the boot skipped), SwarmRun::Loop.

class CountingObserver : public node::RunObserver {
 public:
  void OnExample(const exec::ExampleResult&) override { ++examples; }
  void OnUnitFinished(const exec::UnitResult&) override { ++units; }
  void OnNotice(const std::string& line) override { notices.push_back(line); }
  uint64_t examples = 0, units = 0;
  std::vector<std::string> notices;
};

// Passes of the coordinator's loop (one poll each): how often it woke up.
uint64_t g_coordinator_passes = 0;

struct CoordinatorStats {
  uint64_t send_failures = 0;
  uint64_t malformed = 0;
  uint64_t dropped_results = 0;
  bool started = false;
  Clock::time_point first_take;
  double cpu_at_first_take = 0, process_cpu_at_first_take = 0;
  uint64_t passes_at_first_take = 0;
  size_t lease_bytes = 0, result_bytes = 0, take_bytes = 0;
};

struct Share {
  const node::SwarmKey* key;  // nullptr: plain text
  node::Scheduler* scheduler;
  node::RunObserver* observer;
  node::HelloMsg hello;
  node::OfferMsg offer;
  CoordinatorStats* stats;
};

class SimPeerLink {
 public:
  enum class State { kHello, kOffered, kRunning, kFinishing, kDone };

  SimPeerLink(zmq::context_t& context, const std::string& endpoint, Share* share) : share_(share) {
    last_heard_ = last_sent_ = Clock::now();
    auto socket = node::ConnectClient(context, endpoint, share_->key);
    if (!socket.ok()) {
      std::fprintf(stderr, "cannot connect to %s: %s\n", endpoint.c_str(), socket.status().message().c_str());
      std::exit(2);
    }
    socket_ = std::move(*socket);
    Send(share_->hello);
  }

  zmq::socket_t* socket() { return socket_ ? &*socket_ : nullptr; }
  bool active() const { return state_ != State::kDone; }
  const std::string& id() const { return id_; }

  // PeerLink::Process.
  void Process() {
    if (!socket_) return;
    while (auto received = node::Receive(*socket_)) {
      if (!received->message.ok()) {
        ++share_->stats->malformed;
        continue;
      }
      last_heard_ = Clock::now();
      Handle(*received->message);
      if (!socket_) return;
    }
  }

  // PeerLink::Tick: heartbeats and the peer's silence (the unit timeout is off: none here).
  void Tick() {
    if (!active() || !socket_) return;
    if (state_ != State::kHello && Since(last_heard_) > node::kHeartbeatExpiry) {
      // PeerLink::Lose would put its leases back in the queue; here nobody else would run them.
      std::fprintf(stderr, "check failed: lost %s (no heartbeat for %.0f s)\n", host_.c_str(), Since(last_heard_));
      std::exit(1);
    }
    if (state_ != State::kHello && Since(last_sent_) >= node::kHeartbeatInterval) {
      Send(node::HeartbeatMsg{share_->offer.run_id, {}});
    }
  }

  // PeerLink::ServeWaiting.
  void ServeWaiting() {
    if (state_ != State::kRunning) return;
    std::set<int> waiting = std::move(waiting_slots_);
    waiting_slots_.clear();
    for (int slot : waiting) SendLease(slot);
  }

  void Finish() {
    if (state_ == State::kRunning) {
      Send(node::FinishMsg{share_->offer.run_id});
      state_ = State::kFinishing;
    }
  }

 private:
  void Send(const node::Message& message) {
    if (!socket_) return;
    if (!node::Send(*socket_, message)) ++share_->stats->send_failures;
    last_sent_ = Clock::now();
  }

  // PeerLink::Handle, for the messages of this exchange.
  void Handle(const node::Message& message) {
    const std::string& run = share_->offer.run_id;
    node::Scheduler& scheduler = *share_->scheduler;
    if (auto* hello = std::get_if<node::HelloMsg>(&message)) {
      if (state_ != State::kHello) return;
      if (!hello->host.empty()) host_ = hello->host;
      id_ = hello->node_id;
      node::OfferMsg offer = share_->offer;
      offer.slots_wanted = hello->idle;
      Send(offer);
      state_ = State::kOffered;
      return;
    }
    if (!std::visit([&run](const auto& m) {
          if constexpr (requires { m.run_id; }) return m.run_id == run;
          return false;
        }, message)) {
      return;
    }
    if (auto* ready = std::get_if<node::ReadyMsg>(&message)) {
      if (state_ != State::kOffered) return;  // kSyncing in PeerLink: Accept and the pack skipped
      state_ = State::kRunning;
      slots_ = ready->slots;
    } else if (auto* take = std::get_if<node::TakeMsg>(&message)) {
      if (state_ != State::kRunning) return;
      CoordinatorStats& stats = *share_->stats;
      if (!stats.started) {
        stats.started = true;
        stats.first_take = Clock::now();
        stats.cpu_at_first_take = ThreadCpu();
        stats.process_cpu_at_first_take = ProcessCpu();
        stats.passes_at_first_take = g_coordinator_passes;
      }
      SendLease(take->slot);
    } else if (auto* example = std::get_if<node::ExampleMsg>(&message)) {
      const std::string* holder = scheduler.Holder(example->lease_id);
      if (!holder || *holder != id_) return;
      exec::ExampleResult e = example->example;
      e.host = host_;
      scheduler.Example(example->lease_id, e);
    } else if (auto* result = std::get_if<node::ResultMsg>(&message)) {
      const std::string* holder = scheduler.Holder(result->lease_id);
      if (!holder || *holder != id_) {
        ++share_->stats->dropped_results;
        return;
      }
      leases_.erase(result->lease_id);
      exec::UnitResult unit = result->unit;
      unit.host = host_;
      for (auto& e : unit.examples) e.host = host_;
      scheduler.Done(result->lease_id, std::move(unit));
    } else if (std::get_if<node::DoneMsg>(&message)) {
      if (state_ == State::kFinishing || state_ == State::kRunning) {
        state_ = State::kDone;
        socket_.reset();
      }
    }
  }

  // PeerLink::SendLease.
  void SendLease(int slot) {
    std::optional<node::Lease> lease = share_->scheduler->Take(id_, slot);
    if (!lease) {
      waiting_slots_.insert(slot);
      return;
    }
    waiting_slots_.erase(slot);
    leases_[lease->id] = Clock::now();
    Send(node::LeaseMsg{share_->offer.run_id, lease->id, slot, lease->unit.id, lease->unit.file, lease->unit.ids,
                        lease->unit.except_ids});
  }

  Share* share_;
  std::string id_, host_ = "?";
  std::optional<zmq::socket_t> socket_;
  State state_ = State::kHello;
  int slots_ = 0;
  std::set<int> waiting_slots_;
  std::map<int, Clock::time_point> leases_;
  Clock::time_point last_heard_, last_sent_;
};

// SwarmRun::Loop's shape.
template <typename Until>
bool Loop(std::vector<std::unique_ptr<SimPeerLink>>& links, node::Scheduler& scheduler, Until until,
          Clock::time_point deadline) {
  while (!until()) {
    if (Clock::now() > deadline) return false;
    std::vector<zmq_pollitem_t> items;
    for (auto& link : links) {
      if (zmq::socket_t* s = link->socket()) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
    }
    zmq_poll(items.data(), static_cast<int>(items.size()), 250);
    ++g_coordinator_passes;
    for (auto& link : links) {
      link->Process();
      link->Tick();
    }
    if (scheduler.TakeWorkAvailable()) {
      for (auto& link : links) link->ServeWaiting();
    }
  }
  return true;
}

// The swarm key of --curve (nullptr without), and the peers' Gatekeeper in `peer_context`,
// opened before any ROUTER binds (JoinDaemon::Start).
struct Security {
  std::optional<node::SwarmKey> key;
  std::unique_ptr<node::Gatekeeper> gatekeeper;
  const node::SwarmKey* key_or_null() const { return key ? &*key : nullptr; }
};

Security OpenSecurity(zmq::context_t& peer_context, bool curve) {
  Security security;
  if (!curve) return security;
  auto key = node::NewSwarmKey("bench");
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", key.status().message().c_str());
    std::exit(2);
  }
  security.key = *key;
  auto gatekeeper = node::Gatekeeper::Open(peer_context, *security.key);
  if (!gatekeeper.ok()) {
    std::fprintf(stderr, "%s\n", gatekeeper.status().message().c_str());
    std::exit(2);
  }
  security.gatekeeper = std::move(*gatekeeper);
  return security;
}

// The first ROUTER's handshakes watched, as JoinDaemon::Start does for its one ROUTER.
void Watch(Security& security, zmq::socket_t& router) {
  if (!security.gatekeeper) return;
  if (specswarm::Status s = security.gatekeeper->Watch(router); !s.ok()) std::fprintf(stderr, "%s\n", s.message().c_str());
}

int RunDispatch(const Options& options) {
  // The peers: one "machine" with its own context and I/O thread, P nodes.
  zmq::context_t peer_context(1);
  Security security = OpenSecurity(peer_context, options.curve);
  PeerStats peer_stats;
  std::vector<std::unique_ptr<SimPeer>> peers;
  std::vector<std::string> endpoints;
  for (int i = 0; i < options.peers; ++i) {
    auto router = node::BindServer(peer_context, 0, security.key_or_null());
    if (!router.ok()) {
      std::fprintf(stderr, "%s\n", router.status().message().c_str());
      return 2;
    }
    if (i == 0) Watch(security, *router);
    endpoints.push_back(node::TcpEndpoint("127.0.0.1", node::BoundPort(*router)));
    peers.push_back(std::make_unique<SimPeer>(std::move(*router), i + 1, options.slots, options, &peer_stats));
  }
  std::atomic<bool> stop{false};
  double peer_cpu = 0;
  std::thread peer_thread(ServePeers, &peers, security.gatekeeper.get(), &stop, &peer_cpu);

  // The coordinator.
  zmq::context_t context(1);
  CountingObserver observer;
  node::Scheduler scheduler(MakeUnits(options.units), &observer, /*fail_fast=*/false);
  CoordinatorStats stats;
  Share share{security.key_or_null(), &scheduler, &observer, {}, {}, &stats};
  share.hello.node_id = "bench-coordinator";
  share.hello.host = "coordinator.local";
  share.hello.version = "0.1.0";
  share.offer.run_id = kRunId;
  share.offer.commit = std::string(40, 'a');
  share.offer.repo_key = "bench";
  share.offer.coordinator_host = "coordinator.local";
  share.offer.rspec_args = {"--format", "progress"};
  share.offer.targets = {"spec"};
  std::vector<std::unique_ptr<SimPeerLink>> links;
  for (const auto& endpoint : endpoints) links.push_back(std::make_unique<SimPeerLink>(context, endpoint, &share));

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.deadline));
  bool ok = Loop(links, scheduler, [&] { return scheduler.done(); }, deadline);
  const double seconds = stats.started ? Since(stats.first_take) : 0;
  const double coordinator_cpu = ThreadCpu() - stats.cpu_at_first_take;
  const double process_cpu = ProcessCpu() - stats.process_cpu_at_first_take;
  const uint64_t passes = g_coordinator_passes - stats.passes_at_first_take;

  for (auto& link : links) link->Finish();
  const auto close_deadline = Clock::now() + std::chrono::seconds(5);
  bool closed = Loop(links, scheduler, [&] {
    return std::none_of(links.begin(), links.end(), [](const auto& l) { return l->active(); });
  }, close_deadline);
  stop = true;
  peer_thread.join();

  // Checks: every unit answered exactly once, nothing dropped or lost.
  std::vector<std::string> problems;
  if (!ok) problems.push_back("deadline passed with " + std::to_string(scheduler.completed()) + " units done");
  if (!closed) problems.push_back("the peers did not answer Finish");
  const auto& units = scheduler.report().units();
  if (scheduler.completed() != static_cast<size_t>(options.units) || units.size() != static_cast<size_t>(options.units)) {
    problems.push_back("completed " + std::to_string(scheduler.completed()) + " of " + std::to_string(options.units));
  }
  std::vector<char> seen(options.units + 1, 0);
  for (const auto& unit : units) {
    if (unit.unit_id < 1 || unit.unit_id > options.units || seen[unit.unit_id]++) {
      problems.push_back("unit " + std::to_string(unit.unit_id) + " answered twice or unknown");
      break;
    }
    if (unit.file != SpecFile(unit.unit_id) || unit.examples.size() != static_cast<size_t>(options.examples) ||
        unit.host.empty()) {
      problems.push_back("unit " + std::to_string(unit.unit_id) + " came back altered");
      break;
    }
  }
  const node::RunTotals totals = scheduler.report().Totals();
  if (totals.examples != options.units * options.examples || totals.failures != 0) problems.push_back("wrong totals");
  if (options.example_msgs && observer.examples != static_cast<uint64_t>(options.units) * options.examples) {
    problems.push_back("examples seen live: " + std::to_string(observer.examples));
  }
  if (stats.send_failures + peer_stats.send_failures) {
    problems.push_back("messages not queued (dropped): coordinator " + std::to_string(stats.send_failures) + ", peers " +
                       std::to_string(peer_stats.send_failures));
  }
  if (stats.malformed + peer_stats.malformed) problems.push_back("malformed messages");
  if (security.gatekeeper && security.gatekeeper->admitted() != options.peers) {
    problems.push_back("the gatekeeper admitted " + std::to_string(security.gatekeeper->admitted()) + " clients, not " +
                       std::to_string(options.peers));
  }
  if (stats.dropped_results) problems.push_back(std::to_string(stats.dropped_results) + " results dropped");
  int busiest = 0, idlest = options.units;
  for (const auto& [runner, n] : scheduler.answered()) {
    busiest = std::max(busiest, n);
    idlest = std::min(idlest, n);
  }
  if (static_cast<int>(scheduler.answered().size()) != options.peers) idlest = 0;

  // Frame sizes of this exchange, for the record.
  node::SpecUnit sample_unit;
  sample_unit.id = options.units;
  sample_unit.file = SpecFile(options.units);
  const node::Lease sample_lease{options.units, sample_unit, 1};
  const size_t lease_bytes =
      node::Encode(node::LeaseMsg{kRunId, options.units, 1, options.units, sample_unit.file, {}, {}}).size();
  exec::UnitResult sample = NoOpResult(sample_lease, 1, options.examples, 0.000321);
  sample.host = "peer1.local";
  const size_t result_bytes = node::Encode(node::ResultMsg{kRunId, options.units, sample}).size();
  const size_t take_bytes = node::Encode(node::TakeMsg{kRunId, 1}).size();

  std::printf(
      "units=%d peers=%d slots=%d curve=%d examples=%d example_msgs=%d seconds=%.3f units_per_s=%.0f "
      "coordinator_cpu_us_per_unit=%.2f peers_cpu_us_per_unit=%.2f process_cpu_us_per_unit=%.2f "
      "coordinator_wakeups_per_unit=%.2f take_bytes=%zu lease_bytes=%zu result_bytes=%zu per_peer_min=%d per_peer_max=%d %s\n",
      options.units, options.peers, options.slots, options.curve ? 1 : 0, options.examples, options.example_msgs ? 1 : 0,
      seconds,
      seconds > 0 ? options.units / seconds : 0.0, 1e6 * coordinator_cpu / options.units,
      1e6 * peer_cpu / options.units, 1e6 * process_cpu / options.units,
      static_cast<double>(passes) / options.units, take_bytes, lease_bytes, result_bytes, idlest,
      busiest, problems.empty() ? "ok" : "FAILED");
  for (const auto& p : problems) std::fprintf(stderr, "check failed: %s\n", p.c_str());
  return problems.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// In-process costs per unit, no sockets: what the two loops spend besides ZeroMQ.

template <typename F>
double MicrosPerOp(int n, F f) {
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) f(i);
  return 1e6 * Since(t0) / n;
}

int RunComponents(const Options& options) {
  const int n = options.units;
  volatile size_t sink = 0;
  CountingObserver observer;

  // Scheduler::Take then Done, one lease live at a time (the Result built outside the clock).
  std::vector<exec::UnitResult> results;
  results.reserve(n);
  {
    node::Scheduler prep(MakeUnits(n), &observer, false);
    for (int i = 0; i < n; ++i) results.push_back(NoOpResult(*prep.Take("p", 1), 1, options.examples, 0.0003));
  }
  node::Scheduler scheduler(MakeUnits(n), &observer, false);
  const double take_done = MicrosPerOp(n, [&](int i) {
    auto lease = scheduler.Take("bench-peer-1", 1);
    scheduler.Done(lease->id, std::move(results[i]));
  });

  node::LeaseMsg lease{kRunId, 12345, 3, 12345, SpecFile(12345), {}, {}};
  node::SpecUnit unit;
  unit.id = 12345;
  unit.file = SpecFile(12345);
  exec::UnitResult result = NoOpResult(node::Lease{12345, unit, 3}, 3, options.examples, 0.0003);
  result.host = "peer1.local";
  node::ResultMsg result_msg{kRunId, 12345, result};
  const std::string take_bytes = node::Encode(node::TakeMsg{kRunId, 3});
  const std::string lease_bytes = node::Encode(lease);
  const std::string result_bytes = node::Encode(result_msg);

  const double enc_take = MicrosPerOp(n, [&](int) { sink = sink + node::Encode(node::TakeMsg{kRunId, 3}).size(); });
  const double dec_take = MicrosPerOp(n, [&](int) { sink = sink + node::Decode(take_bytes).ok(); });
  const double enc_lease = MicrosPerOp(n, [&](int) { sink = sink + node::Encode(lease).size(); });
  const double dec_lease = MicrosPerOp(n, [&](int) { sink = sink + node::Decode(lease_bytes).ok(); });
  const double enc_result = MicrosPerOp(n, [&](int) { sink = sink + node::Encode(result_msg).size(); });
  const double dec_result = MicrosPerOp(n, [&](int) { sink = sink + node::Decode(result_bytes).ok(); });
  const double build_result = MicrosPerOp(n, [&](int i) {
    sink = sink + NoOpResult(node::Lease{i, unit, 3}, 3, options.examples, 0.0003).examples.size();
  });

  std::printf(
      "components units=%d examples=%d scheduler_take_done_us=%.2f encode_take_us=%.2f decode_take_us=%.2f "
      "encode_lease_us=%.2f decode_lease_us=%.2f encode_result_us=%.2f decode_result_us=%.2f build_result_us=%.2f "
      "take_bytes=%zu lease_bytes=%zu result_bytes=%zu\n",
      n, options.examples, take_done, enc_take, dec_take, enc_lease, dec_lease, enc_result, dec_result, build_result,
      take_bytes.size(), lease_bytes.size(), result_bytes.size());
  return scheduler.completed() == static_cast<size_t>(n) ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// The transport alone, same sockets (BindServer/ConnectClient options), same frames per unit
// and their sizes (coordinator -> peer: one Lease-sized frame; peer -> coordinator: a
// Result-sized and a Take-sized frame), S frames in flight per peer; no encoding, no scheduler.
// The ceiling for the dispatch loop on this machine. The clock starts after one exchange per
// peer (since issue 10; before, it also held the connection's setup, about a millisecond).

void EchoPeers(std::vector<zmq::socket_t>* routers, node::Gatekeeper* gatekeeper, size_t result_size, size_t take_size,
               std::atomic<bool>* stop) {
  const std::string result(result_size, 'r'), take(take_size, 't');
  while (!stop->load()) {
    std::vector<zmq_pollitem_t> items;
    for (auto& r : *routers) items.push_back({r.handle(), 0, ZMQ_POLLIN, 0});
    if (gatekeeper) gatekeeper->AppendPollItems(&items);
    zmq_poll(items.data(), static_cast<int>(items.size()), 100);
    if (gatekeeper) (void)gatekeeper->Service();
    for (auto& r : *routers) {
      for (int i = 0; i < 1000; ++i) {
        zmq::message_t id, frame;
        if (!r.recv(id, zmq::recv_flags::dontwait)) break;
        (void)r.recv(frame, zmq::recv_flags::dontwait);
        (void)r.send(zmq::buffer(id.data(), id.size()), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        (void)r.send(zmq::buffer(result), zmq::send_flags::dontwait);
        (void)r.send(zmq::buffer(id.data(), id.size()), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        (void)r.send(zmq::buffer(take), zmq::send_flags::dontwait);
      }
    }
  }
}

int RunRaw(const Options& options) {
  const size_t lease_size = 59, result_size = 285, take_size = 26;
  zmq::context_t peer_context(1);
  Security security = OpenSecurity(peer_context, options.curve);
  std::vector<zmq::socket_t> routers;
  std::vector<std::string> endpoints;
  for (int i = 0; i < options.peers; ++i) {
    auto router = node::BindServer(peer_context, 0, security.key_or_null());
    if (!router.ok()) return 2;
    if (i == 0) Watch(security, *router);
    endpoints.push_back(node::TcpEndpoint("127.0.0.1", node::BoundPort(*router)));
    routers.push_back(std::move(*router));
  }
  std::atomic<bool> stop{false};
  std::thread peer_thread(EchoPeers, &routers, security.gatekeeper.get(), result_size, take_size, &stop);

  zmq::context_t context(1);
  std::vector<zmq::socket_t> dealers;
  for (const auto& e : endpoints) dealers.push_back(std::move(*node::ConnectClient(context, e, security.key_or_null())));
  const std::string lease(lease_size, 'l');
  uint64_t sent = 0, answered = 0, failures = 0, passes = 0;
  // One exchange per peer before the clock (not counted): the connections, and with --curve the
  // handshakes, are up when it starts, as the dispatch clock starts at the first Take.
  {
    for (auto& d : dealers) failures += !d.send(zmq::buffer(lease), zmq::send_flags::dontwait);
    size_t frames = 0;
    const auto warm_deadline = Clock::now() + std::chrono::seconds(10);
    while (frames < 2 * dealers.size() && Clock::now() < warm_deadline) {
      std::vector<zmq_pollitem_t> items;
      for (auto& d : dealers) items.push_back({d.handle(), 0, ZMQ_POLLIN, 0});
      zmq_poll(items.data(), static_cast<int>(items.size()), 250);
      for (auto& d : dealers) {
        zmq::message_t frame;
        while (d.recv(frame, zmq::recv_flags::dontwait)) ++frames;
      }
    }
    if (frames != 2 * dealers.size()) ++failures;
  }
  const auto started = Clock::now();
  for (auto& d : dealers) {
    for (int s = 0; s < options.slots && sent < static_cast<uint64_t>(options.units); ++s, ++sent) {
      failures += !d.send(zmq::buffer(lease), zmq::send_flags::dontwait);
    }
  }
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.deadline));
  while (answered < static_cast<uint64_t>(options.units) && Clock::now() < deadline) {
    std::vector<zmq_pollitem_t> items;
    for (auto& d : dealers) items.push_back({d.handle(), 0, ZMQ_POLLIN, 0});
    zmq_poll(items.data(), static_cast<int>(items.size()), 250);
    ++passes;
    for (auto& d : dealers) {
      zmq::message_t frame;
      while (d.recv(frame, zmq::recv_flags::dontwait)) {
        if (frame.size() == result_size) {
          ++answered;
        } else if (sent < static_cast<uint64_t>(options.units)) {
          failures += !d.send(zmq::buffer(lease), zmq::send_flags::dontwait);
          ++sent;
        }
      }
    }
  }
  const double seconds = Since(started);
  stop = true;
  peer_thread.join();
  const bool ok = answered == static_cast<uint64_t>(options.units) && failures == 0;
  std::printf("raw units=%d peers=%d slots=%d curve=%d seconds=%.3f units_per_s=%.0f coordinator_wakeups_per_unit=%.2f %s\n",
              options.units, options.peers, options.slots, options.curve ? 1 : 0, seconds, options.units / seconds,
              static_cast<double>(passes) / options.units, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

int Usage() {
  std::fprintf(stderr,
               "usage: dispatch_bench [--units N] [--peers P] [--slots S] [--examples E] [--example-msgs] "
               "[--curve] [--deadline SECONDS]\n"
               "       dispatch_bench --components [--units N] [--examples E]\n"
               "       dispatch_bench --raw [--units N] [--peers P] [--slots S] [--curve]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(Usage());
      }
      return argv[++i];
    };
    if (arg == "--units") {
      options.units = std::atoi(value());
    } else if (arg == "--peers") {
      options.peers = std::atoi(value());
    } else if (arg == "--slots") {
      options.slots = std::atoi(value());
    } else if (arg == "--examples") {
      options.examples = std::atoi(value());
    } else if (arg == "--example-msgs") {
      options.example_msgs = true;
    } else if (arg == "--deadline") {
      options.deadline = std::atof(value());
    } else if (arg == "--curve") {
      options.curve = true;
    } else if (arg == "--raw") {
      options.raw = true;
    } else if (arg == "--components") {
      options.components = true;
    } else {
      return Usage();
    }
  }
  if (options.units < 1 || options.peers < 1 || options.slots < 1 || options.examples < 0) return Usage();
  if (options.raw) return RunRaw(options);
  return options.components ? RunComponents(options) : RunDispatch(options);
}
