// SwarmRun: one `specswarm run`, on this machine's slots and on every peer that takes a share.
// It is the coordinator: one Scheduler (queue, leases) driven from one poll loop in which the
// local SlotPool's worker pipes, each PeerLink's socket and discovery's descriptors all wait.
// Local slots start at once; peers are found while the run goes (mDNS, seeds, the cache),
// offered the run, and pull from the same queue once they are ready, so a late peer only
// starts late. Every unit ends with exactly one result: a lost peer's leases go back to the
// queue; a run left with no runner at all gives the rest an error result.
//
// Phases: units (until the queue is done), persist (the example status file, from every
// result, written by one local slot), close (after(:suite) on every local slot and peer).
// Single-threaded; Interrupt() is async-signal-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/seed_list.h"
#include "node/peer_link.h"
#include "node/reservation.h"
#include "node/run_report.h"
#include "node/scheduler.h"
#include "node/slot_pool.h"

namespace specswarm::node {

struct SwarmOptions {
  bool enabled = false;           // false: --local, no peer is looked for
  std::vector<discovery::Seed> seeds;
  bool mdns = true;
  bool use_cache = true;
  std::string self_id;            // this machine's join daemon, never a peer of its own runs
  double wait_for_peer = 10;      // seconds, when there are no local slots
  std::string repo_path;          // the snapshot's repository
  HelloMsg hello;
  OfferMsg offer;                 // run_id, commit and the run's settings
  SwarmKey key;                   // membership; nodes advertising another fingerprint are skipped
};

struct SwarmRunOptions {
  SlotPoolOptions local;          // local.slots may be 0: peers only
  bool fail_fast = false;
  bool persist_statuses = true;
  SwarmOptions swarm;
};

// One line per peer the run saw, for the summary: which were used and why the others were not.
struct PeerSummary {
  std::string host, endpoint, state, why;
  int slots = 0;
  int files = 0;
  uint64_t pack_bytes = 0;   // code sent to it
  double ready_after = -1;   // seconds from the run's start until it pulled, -1: never
};

class SwarmRun {
 public:
  SwarmRun(SwarmRunOptions options, std::vector<SpecUnit> units, RunObserver* observer);
  ~SwarmRun();

  // This machine's slots claimed from its own `join` for the run's duration (heartbeated here).
  void AdoptReservation(Reservation reservation) { reservation_.emplace(std::move(reservation)); }

  RunReport Run();
  const std::vector<PeerSummary>& peers() const { return peer_summary_; }
  uint64_t pack_bytes_sent() const { return share_.bytes_sent; }

  static void Interrupt();

 private:
  class LocalSource;
  class Finder;

  void Loop(const std::function<bool()>& until, bool taking);
  void AddPeer(const std::string& key, const std::string& label, const std::string& endpoint);
  bool AnyRunnerMayRun() const;
  void ReportProgress();
  void Persist();
  void Close();

  SwarmRunOptions options_;
  RunObserver* observer_;
  Scheduler scheduler_;
  std::unique_ptr<LocalSource> local_source_;
  std::unique_ptr<SlotPool> pool_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<Finder> finder_;
  std::unique_ptr<PackBuilds> packs_;
  RunShare share_;
  std::vector<std::unique_ptr<PeerLink>> links_;
  std::map<const PeerLink*, std::chrono::steady_clock::time_point> link_started_;
  std::vector<PeerSummary> peer_summary_;
  bool booted_messages_shown_ = false;
  std::optional<Reservation> reservation_;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace specswarm::node
