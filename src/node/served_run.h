// ServedRun: a peer's side of one run it accepted in `join`. It receives the pack of what it
// lacks, checks the snapshot out and runs the setup hooks (on a thread, so heartbeats go on),
// boots its share of slots in a SlotPool and feeds that pool from the coordinator's leases:
// an idle slot sends Take, a Lease comes back, the result goes back as Result. It heartbeats
// the coordinator every second and, when the coordinator falls silent for kHeartbeatExpiry,
// kills the run's workers and frees its slots. Leave() hands its leases back (join stopping).
//
// Owned by the JoinDaemon, which routes the coordinator's messages here and polls PollFds().
// Sends through the daemon's ROUTER. Single-threaded but for the preparation thread, which
// touches only the object store and the work directory until it signals it is done.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "node/protocol.h"
#include "node/slot_pool.h"
#include "sync/object_store.h"

namespace specswarm::node {

// What every run a daemon serves shares: its socket, its state and how to start Ruby.
struct PeerContext {
  zmq::socket_t* router = nullptr;
  std::string state_dir;      // runs/ and store/ live here
  std::string shim;
  std::string ruby = "ruby";
  std::string host;
  // One preparation at a time touches the object stores; shared, as a preparation may outlive
  // its run (and the daemon) when the run is cancelled mid-checkout.
  std::shared_ptr<std::mutex> store_mutex = std::make_shared<std::mutex>();
};

class ServedRun : public UnitSource {
 public:
  // kReserved: slots held for a run of this machine's own (OfferMsg::reserve_only).
  enum class Phase { kSyncing, kPreparing, kBooting, kRunning, kClosing, kReserved, kOver };

  ServedRun(PeerContext* context, std::string routing_id, OfferMsg offer, int first_slot, int slots);
  ~ServedRun() override;
  ServedRun(const ServedRun&) = delete;
  ServedRun& operator=(const ServedRun&) = delete;

  // Opens the repository's store and answers the offer with Accept (and the haves).
  Status Begin();
  void Handle(const Message& message);
  std::vector<int> PollFds() const;
  int TimeoutMs() const;
  void Process();  // after the poll: workers, the preparation's end, heartbeats
  // This node is going away: hand back every lease, tell the coordinator why, stop the workers.
  void Leave(const std::string& why);

  Phase phase() const { return phase_; }
  bool over() const { return phase_ == Phase::kOver; }
  const std::string& routing_id() const { return routing_id_; }
  const OfferMsg& offer() const { return offer_; }
  int first_slot() const { return first_slot_; }
  int slots() const { return slots_; }
  int busy() const { return pool_ ? pool_->busy() : 0; }
  int files_done() const { return files_done_; }
  const std::string& outcome() const { return outcome_; }  // how it ended, for the log

  // UnitSource (the run's SlotPool)
  std::optional<Lease> Take(int slot) override;
  void Done(const Lease& lease, exec::UnitResult result) override;
  void Return(const Lease& lease) override;
  void OnExample(const Lease& lease, const exec::ExampleResult& example) override;
  void OnRunLevelResult(exec::UnitResult result) override;
  void OnBooted(const std::vector<std::string>& messages) override;
  void OnNotice(const std::string& line) override;

 private:
  using Clock = std::chrono::steady_clock;
  void Send(const Message& message);
  void StartPreparing();
  void Prepared();
  void End(const std::string& outcome);
  void Fail(const std::string& why);

  PeerContext* context_;
  std::string routing_id_;
  OfferMsg offer_;
  int first_slot_, slots_;
  Phase phase_ = Phase::kSyncing;
  std::string run_dir_;
  std::optional<sync::ObjectStore> store_;
  std::optional<sync::PackReceiver> receiver_;
  // The preparation (verify, check out, setup hooks, bundle check) runs on a detached thread that
  // owns its job; a run cancelled meanwhile does not wait for it, it only stops listening.
  struct PrepareJob;
  std::shared_ptr<PrepareJob> job_;
  int prepared_fd_ = -1;            // readable (one byte) when the job is done
  std::string work_dir_;
  std::unique_ptr<SlotPool> pool_;
  std::deque<Lease> ready_;         // leases received, not yet taken by a slot
  std::map<int, Clock::time_point> asked_;  // slots with a Take outstanding, since when
  bool leaving_ = false;
  std::vector<int> handed_back_;    // leases returned while leaving
  int files_done_ = 0;
  std::string outcome_;
  Clock::time_point started_, last_heard_, last_sent_;
};

}  // namespace specswarm::node
