// PeerLink: the coordinator's side of one peer in one run, the remote runner beside the local
// SlotPool. It says hello, offers the run, sends the pack of exactly the objects the peer
// lacks, then serves the peer's slots from the Scheduler as they pull (Take -> Lease), and
// passes their results back, stamped with the peer's host. Heartbeats go both ways every
// second; a peer silent for kHeartbeatExpiry is lost and its leases go back to the queue, and a
// lease running past the unit timeout (plus a grace for the peer's own kill) goes back too.
//
// Owns its DEALER socket; shares the Scheduler and observer with the run. Single-threaded:
// the run's loop polls socket() and calls Process() and Tick().
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <zmq.hpp>

#include "node/pack_builds.h"
#include "node/protocol.h"
#include "node/scheduler.h"
#include "node/swarm_key.h"
#include "sync/pack.h"

namespace specswarm::node {

// What every link of one run shares.
struct RunShare {
  Scheduler* scheduler = nullptr;
  RunObserver* observer = nullptr;
  HelloMsg hello;           // ours
  OfferMsg offer;           // slots_wanted is set per peer
  std::string repo_path;    // where packs are built from
  PackBuilds* packs = nullptr;
  double unit_timeout = 0;  // seconds; 0: none
  uint64_t bytes_sent = 0;  // pack bytes sent to every peer, for the bench and the summary
  std::set<std::string> node_ids;  // nodes already in the run: one reached two ways is one peer
  const SwarmKey* key = nullptr;   // every link is CURVE with it (nullptr: plain text, benches only)
};

class PeerLink {
 public:
  enum class State { kHello, kOffered, kSyncing, kRunning, kFinishing, kDone, kExcluded, kLost };

  // `label` names the peer until its hello does (its endpoint); `key` is the directory's key.
  PeerLink(zmq::context_t& context, std::string key, std::string label, const std::string& endpoint, RunShare* share);
  ~PeerLink();

  zmq::socket_t* socket() { return socket_ ? &*socket_ : nullptr; }
  void Process();   // reads every message waiting
  void Tick();      // heartbeats and deadlines
  void ServeWaiting();
  void Finish();    // the queue is done: after(:suite), then Done
  void Cancel(const std::string& why);

  State state() const { return state_; }
  bool active() const { return state_ != State::kDone && state_ != State::kExcluded && state_ != State::kLost; }
  // Holds or may soon hold units: keeps a run with no local slot alive.
  bool may_run() const { return state_ == State::kHello || state_ == State::kOffered || state_ == State::kSyncing || state_ == State::kRunning; }
  bool running() const { return state_ == State::kRunning; }
  const std::string& key() const { return key_; }
  const std::string& id() const { return id_; }
  // The Scheduler's name for this peer's leases: "peer:<id>" once it said hello.
  const std::string& runner() const { return runner_; }
  const std::string& host() const { return host_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& why() const { return why_; }
  int slots() const { return slots_; }
  int busy() const;
  uint64_t pack_bytes() const { return pack_bytes_; }   // code sent to this peer
  double ready_after() const { return ready_after_; }   // seconds from the link's start to Ready, -1: never
  // Why this node cannot take work at all (another protocol, no idle slot): never offered.
  bool excluded_at_hello() const { return excluded_at_hello_; }
  // Another link of this run reaches the same node: not a peer of its own.
  bool duplicate() const { return duplicate_; }

 private:
  using Clock = std::chrono::steady_clock;
  void Handle(const Message& message);
  // `quiet`: not worth a line while the run goes (a stale cached peer, a duplicate).
  void Exclude(const std::string& why, bool at_hello, bool quiet = false);
  void Lose(const std::string& why);
  void SendLease(int slot);
  void AnnouncePack();
  void Send(const Message& message);

  RunShare* share_;
  std::string key_, label_, endpoint_;
  std::string id_, host_, runner_;
  std::optional<zmq::socket_t> socket_;
  State state_ = State::kHello;
  std::string why_;
  bool excluded_at_hello_ = false;
  bool duplicate_ = false;
  int slots_ = 0;
  std::shared_ptr<PackBuilds::Build> building_;  // until the pack is ready to announce
  std::optional<sync::PackStream> pack_;
  uint64_t pack_bytes_ = 0;
  double ready_after_ = -1;
  Clock::time_point created_;
  std::set<int> waiting_slots_;                 // asked for a unit the queue did not have
  std::map<int, Clock::time_point> leases_;     // live leases this peer holds, since when
  std::set<int> heard_leases_;                  // what its last heartbeat said it holds
  Clock::time_point heard_at_{};                // when that heartbeat came
  Clock::time_point last_heard_, last_sent_, state_since_;
};

const char* ToString(PeerLink::State state);

}  // namespace specswarm::node
