// The cost of CURVE on a sync (issue 10): how long a peer takes to bring its object store up to
// date, from its first ChunkRequest to the commit published, over a CURVE link and a plain one.
//
// One process, two threads, two ZeroMQ contexts (one per "machine", each with its one I/O thread
// as `specswarm run` and `specswarm join` have), loopback TCP:
//   - the coordinator (main thread): the real PeerLink (src/node/peer_link.cc) over the real
//     PackBuilds (the pack built on a thread, once per set of haves), driven by SwarmRun::Loop's
//     shape (poll its DEALER with <= 250 ms, Process, Tick). It says Hello, offers the run, builds
//     the pack for the peer's haves, announces it (PackInfo) and answers each ChunkRequest with a
//     PackChunk of up to 1 MiB (PeerLink's kChunkBytes), one request, one chunk.
//   - the peer (second thread): a ROUTER from BindServer, served as JoinDaemon::Serve does (with
//     CURVE: a Gatekeeper opened in the peer's context before the bind, Watch(router), its
//     sockets in the poll and Service() on every pass before the ROUTER is read). It answers
//     Hello, opens its ObjectStore (<state>/store, as ServedRun::Begin) and Accepts with its
//     haves, then does what ServedRun::Handle does with the pack: PackReceiver::Start, a
//     ChunkRequest from received(), Append each chunk, the next request, and when all is
//     received PackReceiver::Finish (index, verify the commit complete against store + pack,
//     publish into store.git, mark complete): the first half of ServedRun's PrepareJob. Then
//     Ready. Differences from the product: Finish runs on the peer's loop thread (ServedRun hands
//     it to a PrepareJob thread, which then checks the snapshot out; the loop has nothing else
//     to do here, so the time is the same), the poll waits <= 100 ms instead of <= 1 s (only so
//     the bench can stop it), and there are no slots to boot.
//
// The clock runs, on the peer's thread, from the first ChunkRequest sent to Finish returned
// (published); also reported: transfer (first request -> last chunk appended), verify+publish
// (Finish alone), and the link's start, from PeerLink's construction (connect, the CURVE
// handshake and its ZAP round trip through the peer's loop) to the peer's Hello handled. The
// pack build (coordinator, before the PackInfo) is outside the clock, and the same build serves
// every repetition (PackBuilds shares it per set of haves); its time is reported once.
//
// Cases, for one repository and two commits OLD -> NEW (NEW holds a one-line change):
//   incremental  the peer's store holds OLD (copied from a template store before each
//                repetition): the pack is NEW's commit, the changed trees and the changed blob
//   full         an empty store: every tree and blob of NEW (the first sync of the project)
// Each repetition runs every case with CURVE off and on, the order alternating per repetition
// (off, on; then on, off; ...) so that a drift of the machine's speed hits both alike; a
// warm-up of each case and mode comes first and is not counted.
//
//   sync_bench --repo DIR --old COMMIT --new COMMIT --work DIR [--reps N] [--cases incremental,full]
// Prints one line of key=value pairs per measurement (warm-ups marked warmup=1), and a line
// "build case=... ms=..." per case; exit status 1 when a check failed: the store does not hold
// NEW afterwards, the gatekeeper did not admit exactly the one client, a chunk was refused, a
// deadline passed.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "node/gatekeeper.h"
#include "node/pack_builds.h"
#include "node/peer_link.h"
#include "node/protocol.h"
#include "node/scheduler.h"
#include "node/sockets.h"
#include "node/swarm_key.h"
#include "sync/object_store.h"
#include "sync/pack.h"

namespace {

namespace fs = std::filesystem;
namespace node = specswarm::node;
namespace sync = specswarm::sync;
using specswarm::Status;
using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
  std::string repo, old_commit, new_commit, work;
  int reps = 5;
  std::vector<std::string> cases = {"incremental", "full"};
  double deadline = 120;  // seconds per measurement
  std::string repo_key = "bench-sync";
};

// ---------------------------------------------------------------------------------------------
// Peer side: JoinDaemon::Serve's loop, and ServedRun's Begin and pack handling.

struct PeerOutcome {
  bool published = false;
  std::string error;
  Clock::time_point first_request, all_received, finished;
  uint64_t pack_bytes = 0;
  uint32_t objects = 0;
  int chunks = 0;
};

class SimJoin {
 public:
  SimJoin(zmq::socket_t* router, node::Gatekeeper* gatekeeper, std::string state_dir, PeerOutcome* out)
      : router_(router), gatekeeper_(gatekeeper), state_dir_(std::move(state_dir)), out_(out) {}

  void Serve(const std::atomic<bool>* stop) {
    while (!stop->load()) {
      std::vector<zmq_pollitem_t> items;
      items.push_back({router_->handle(), 0, ZMQ_POLLIN, 0});
      if (gatekeeper_) gatekeeper_->AppendPollItems(&items);
      zmq_poll(items.data(), static_cast<int>(items.size()), 100);
      if (gatekeeper_) {
        for (const std::string& line : gatekeeper_->Service()) std::fprintf(stderr, "gatekeeper: %s\n", line.c_str());
      }
      for (int i = 0; i < 1000; ++i) {
        auto received = node::ReceiveFrom(*router_);
        if (!received) break;
        if (!received->message.ok()) {
          Fail("malformed message: " + received->message.status().message());
          continue;
        }
        Handle(received->routing_id, *received->message);
      }
      // ServedRun::Process: heartbeats while the run lasts.
      if (!routing_id_.empty() && Since(last_sent_) >= node::kHeartbeatInterval) Send(node::HeartbeatMsg{offer_.run_id, {}});
    }
  }

 private:
  void Fail(const std::string& why) {
    if (out_->error.empty()) out_->error = why;
  }

  void Send(const node::Message& message) {
    if (!node::SendTo(*router_, routing_id_, message)) Fail("a message could not be queued");
    last_sent_ = Clock::now();
  }

  void Handle(const std::string& from, const node::Message& message) {
    if (std::get_if<node::HelloMsg>(&message)) {  // JoinDaemon::HandleMessage
      node::HelloMsg hello;
      hello.node_id = "bench-peer";
      hello.host = "peer.local";
      hello.version = "0.1.0";
      hello.slots = 1;
      hello.idle = 1;
      if (!node::SendTo(*router_, from, hello)) Fail("hello not queued");
      return;
    }
    if (auto* offer = std::get_if<node::OfferMsg>(&message)) {  // ServedRun::Begin
      if (!routing_id_.empty()) return;
      routing_id_ = from;
      offer_ = *offer;
      auto store = sync::ObjectStore::Open(state_dir_ + "/store", offer_.repo_key);
      if (!store.ok()) return Fail(store.status().message());
      store_ = std::move(*store);
      Send(node::AcceptMsg{offer_.run_id, 1, store_->Haves()});
      return;
    }
    if (from != routing_id_) return;
    if (auto* info = std::get_if<node::PackInfoMsg>(&message)) {  // ServedRun::Handle
      if (receiver_ || done_) return;
      if (info->commit != offer_.commit) return Fail("the pack announced another commit than the run's");
      if (store_->Has(offer_.commit)) return Fail("the store already held the commit: nothing to measure");
      auto receiver = sync::PackReceiver::Start(*store_, sync::PackInfo{info->commit, info->pack_id, info->size, info->objects});
      if (!receiver.ok()) return Fail("cannot receive the code: " + receiver.status().message());
      receiver_ = std::move(*receiver);
      out_->pack_bytes = info->size;
      out_->objects = info->objects;
      if (receiver_->all_received()) return Fail("a partial pack was already there");
      out_->first_request = Clock::now();
      Send(node::ChunkRequestMsg{offer_.run_id, info->pack_id, receiver_->received()});
    } else if (auto* chunk = std::get_if<node::PackChunkMsg>(&message)) {
      if (!receiver_ || chunk->pack_id != receiver_->info().pack_id) return;
      ++out_->chunks;
      if (Status s = receiver_->Append(chunk->offset, chunk->bytes); !s.ok()) Fail("dropped a chunk: " + s.message());
      if (receiver_->all_received()) {
        out_->all_received = Clock::now();
        Status s = receiver_->Finish();  // index, verify, publish (PrepareJob::Run's first step)
        out_->finished = Clock::now();
        receiver_.reset();
        done_ = true;
        if (!s.ok()) return Fail("the code did not arrive intact: " + s.message());
        out_->published = store_->Has(offer_.commit);
        if (!out_->published) return Fail("Finish returned but the store does not hold the commit");
        Send(node::ReadyMsg{offer_.run_id, 1, 0.0});
        return;
      }
      Send(node::ChunkRequestMsg{offer_.run_id, chunk->pack_id, receiver_->received()});
    }
  }

  zmq::socket_t* router_;
  node::Gatekeeper* gatekeeper_;
  std::string state_dir_;
  PeerOutcome* out_;
  std::string routing_id_;
  node::OfferMsg offer_;
  std::optional<sync::ObjectStore> store_;
  std::optional<sync::PackReceiver> receiver_;
  bool done_ = false;
  Clock::time_point last_sent_ = Clock::now();
};

// ---------------------------------------------------------------------------------------------
// One measurement: fresh contexts, sockets and store; the coordinator's PeerLink in this thread.

struct Measurement {
  bool ok = false;
  std::vector<std::string> problems;
  double link_ms = 0;  // PeerLink constructed -> the peer's Hello handled
  PeerOutcome peer;
};

class QuietObserver : public node::RunObserver {};

Measurement Measure(const Options& o, const std::string& which, const node::SwarmKey* key, node::PackBuilds* packs,
                    int serial) {
  Measurement m;
  const std::string state_dir = o.work + "/peer-" + std::to_string(serial);
  std::error_code ec;
  fs::remove_all(state_dir, ec);
  fs::create_directories(state_dir, ec);
  if (which == "incremental") {
    // The store as the previous sync left it: OLD complete.
    fs::copy(o.work + "/template/store", state_dir + "/store", fs::copy_options::recursive, ec);
    if (ec) {
      m.problems.push_back("cannot copy the template store: " + ec.message());
      return m;
    }
  }

  std::atomic<bool> stop{false};
  std::thread peer_thread;
  {
    // The peer's machine: the door first, then the ROUTER (JoinDaemon::Start).
    zmq::context_t peer_context(1);
    std::unique_ptr<node::Gatekeeper> gatekeeper;
    if (key) {
      auto opened = node::Gatekeeper::Open(peer_context, *key);
      if (!opened.ok()) {
        m.problems.push_back(opened.status().message());
        return m;
      }
      gatekeeper = std::move(*opened);
    }
    auto router = node::BindServer(peer_context, 0, key);
    if (!router.ok()) {
      m.problems.push_back(router.status().message());
      return m;
    }
    if (gatekeeper) {
      if (Status s = gatekeeper->Watch(*router); !s.ok()) m.problems.push_back(s.message());
    }
    const std::string endpoint = node::TcpEndpoint("127.0.0.1", node::BoundPort(*router));
    SimJoin join(&*router, gatekeeper.get(), state_dir, &m.peer);
    peer_thread = std::thread([&join, &stop] { join.Serve(&stop); });

    {
      // The coordinator's machine.
      zmq::context_t context(1);
      QuietObserver observer;
      node::SpecUnit unit;
      unit.id = 1;
      unit.file = "spec/probe_spec.rb";
      node::Scheduler scheduler({unit}, &observer, false);
      node::RunShare share;
      share.scheduler = &scheduler;
      share.observer = &observer;
      share.hello.node_id = "bench-coordinator";
      share.hello.host = "coordinator.local";
      share.hello.version = "0.1.0";
      share.offer.run_id = "20240501-120000-sync-" + std::to_string(serial);
      share.offer.commit = o.new_commit;
      share.offer.repo_key = o.repo_key;
      share.offer.coordinator_host = "coordinator.local";
      share.offer.targets = {"spec"};
      share.repo_path = o.repo;
      share.packs = packs;
      share.key = key;

      const auto started = Clock::now();
      node::PeerLink link(context, "bench-peer", "127.0.0.1", endpoint, &share);
      bool hello_seen = false;
      const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.deadline));
      // SwarmRun::Loop's shape for one link.
      while (link.active() && !link.running() && Clock::now() < deadline) {
        std::vector<zmq_pollitem_t> items;
        if (zmq::socket_t* s = link.socket()) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
        zmq_poll(items.data(), static_cast<int>(items.size()), 250);
        link.Process();
        if (!hello_seen && link.state() != node::PeerLink::State::kHello) {
          hello_seen = true;
          m.link_ms = Ms(started, Clock::now());
        }
        link.Tick();
      }
      if (!link.running()) {
        m.problems.push_back(std::string("the link ended ") + node::ToString(link.state()) +
                             (link.why().empty() ? "" : " (" + link.why() + ")"));
      }
      if (link.pack_bytes() != m.peer.pack_bytes) {
        m.problems.push_back("the coordinator sent " + std::to_string(link.pack_bytes()) + " bytes, the pack has " +
                             std::to_string(m.peer.pack_bytes));
      }
      stop = true;
      peer_thread.join();
    }
    if (gatekeeper && gatekeeper->admitted() != 1) {
      m.problems.push_back("the gatekeeper admitted " + std::to_string(gatekeeper->admitted()) + " clients, not 1");
    }
  }
  if (!m.peer.error.empty()) m.problems.push_back(m.peer.error);
  if (!m.peer.published) m.problems.push_back("not published");
  fs::remove_all(state_dir, ec);
  m.ok = m.problems.empty();
  return m;
}

void Print(const std::string& which, bool curve, int rep, bool warmup, const Measurement& m) {
  const PeerOutcome& p = m.peer;
  std::printf(
      "case=%s curve=%d rep=%d warmup=%d pack_bytes=%llu objects=%u chunks=%d link_ms=%.2f sync_ms=%.3f "
      "transfer_ms=%.3f verify_ms=%.3f %s\n",
      which.c_str(), curve ? 1 : 0, rep, warmup ? 1 : 0, static_cast<unsigned long long>(p.pack_bytes), p.objects,
      p.chunks, m.link_ms, m.ok ? Ms(p.first_request, p.finished) : -1.0,
      m.ok ? Ms(p.first_request, p.all_received) : -1.0, m.ok ? Ms(p.all_received, p.finished) : -1.0,
      m.ok ? "ok" : "FAILED");
  for (const auto& problem : m.problems) std::fprintf(stderr, "check failed (%s, curve=%d, rep %d): %s\n", which.c_str(),
                                                      curve ? 1 : 0, rep, problem.c_str());
  std::fflush(stdout);
}

// The incremental case's starting point: a store holding OLD, as a first sync leaves it.
Status MakeTemplate(const Options& o) {
  const std::string root = o.work + "/template";
  std::error_code ec;
  fs::remove_all(root, ec);
  auto store = sync::ObjectStore::Open(root + "/store", o.repo_key);
  if (!store.ok()) return store.status();
  auto pack = sync::PackStream::Build(o.repo, o.old_commit, {});
  if (!pack.ok()) return pack.status();
  auto receiver = sync::PackReceiver::Start(*store, pack->info());
  if (!receiver.ok()) return receiver.status();
  for (uint64_t offset = 0; !receiver->all_received();) {
    auto chunk = pack->Read(offset, 1u << 20);
    if (!chunk.ok()) return chunk.status();
    if (Status s = receiver->Append(offset, *chunk); !s.ok()) return s;
    offset += chunk->size();
  }
  if (Status s = receiver->Finish(); !s.ok()) return s;
  if (!store->Has(o.old_commit)) return Status::Error("the template store does not hold OLD");
  return Status::Ok();
}

int Usage() {
  std::fprintf(stderr,
               "usage: sync_bench --repo DIR --old COMMIT --new COMMIT --work DIR [--reps N] "
               "[--cases incremental,full] [--deadline SECONDS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    if (arg == "--repo") o.repo = v;
    else if (arg == "--old") o.old_commit = v;
    else if (arg == "--new") o.new_commit = v;
    else if (arg == "--work") o.work = v;
    else if (arg == "--reps") o.reps = std::atoi(v.c_str());
    else if (arg == "--deadline") o.deadline = std::atof(v.c_str());
    else if (arg == "--cases") {
      o.cases.clear();
      for (size_t start = 0; start <= v.size();) {
        size_t comma = v.find(',', start);
        if (comma == std::string::npos) comma = v.size();
        if (comma > start) o.cases.push_back(v.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      return Usage();
    }
  }
  if (o.repo.empty() || o.old_commit.size() != 40 || o.new_commit.size() != 40 || o.work.empty() || o.reps < 1) {
    return Usage();
  }
  for (const auto& c : o.cases) {
    if (c != "incremental" && c != "full") return Usage();
  }
  spdlog::set_level(spdlog::level::warn);  // PeerLink's own lines
  std::error_code ec;
  fs::create_directories(o.work, ec);

  if (Status s = MakeTemplate(o); !s.ok()) {
    std::fprintf(stderr, "cannot make the template store: %s\n", s.message().c_str());
    return 2;
  }
  auto key = node::NewSwarmKey("bench");
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", key.status().message().c_str());
    return 2;
  }

  // The pack build, timed once per case (outside the sync clock; PackBuilds then serves every
  // repetition from the same build, as it serves peers with the same haves).
  for (const auto& which : o.cases) {
    std::vector<std::string> haves;
    if (which == "incremental") haves.push_back(o.old_commit);
    const auto t0 = Clock::now();
    auto pack = sync::PackStream::Build(o.repo, o.new_commit, haves);
    if (!pack.ok()) {
      std::fprintf(stderr, "cannot build the %s pack: %s\n", which.c_str(), pack.status().message().c_str());
      return 2;
    }
    std::printf("build case=%s ms=%.1f pack_bytes=%llu objects=%u\n", which.c_str(), Ms(t0, Clock::now()),
                static_cast<unsigned long long>(pack->info().size), pack->info().objects);
  }
  node::PackBuilds packs(o.repo, o.new_commit);

  int serial = 0, failures = 0;
  for (const auto& which : o.cases) {
    for (bool curve : {false, true}) {
      Measurement m = Measure(o, which, curve ? &*key : nullptr, &packs, ++serial);
      Print(which, curve, 0, true, m);
      failures += !m.ok;
    }
  }
  for (int rep = 1; rep <= o.reps; ++rep) {
    for (const auto& which : o.cases) {
      const bool curve_first = rep % 2 == 0;
      for (bool curve : {curve_first, !curve_first}) {
        Measurement m = Measure(o, which, curve ? &*key : nullptr, &packs, ++serial);
        Print(which, curve, rep, false, m);
        failures += !m.ok;
      }
    }
  }
  fs::remove_all(o.work + "/template", ec);
  return failures ? 1 : 0;
}
