#include "node/peer_link.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "node/sockets.h"

namespace specswarm::node {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A peer kills a unit that runs past the timeout itself and reports it at once; a lease still
// unanswered this long after the timeout is taken back by the coordinator.
double LeaseGrace(double unit_timeout) { return std::clamp(unit_timeout, 5.0, 30.0); }
constexpr size_t kChunkBytes = 1u << 20;
// A Lease reaches a live peer in milliseconds; one its heartbeat still lacks this long after
// it was sent was lost with a broken connection.
constexpr double kLostLeaseSeconds = 3;

}  // namespace

const char* ToString(PeerLink::State state) {
  switch (state) {
    case PeerLink::State::kHello: return "saying hello";
    case PeerLink::State::kOffered: return "offered the run";
    case PeerLink::State::kSyncing: return "syncing and booting";
    case PeerLink::State::kRunning: return "running";
    case PeerLink::State::kFinishing: return "finishing";
    case PeerLink::State::kDone: return "done";
    case PeerLink::State::kExcluded: return "not used";
    case PeerLink::State::kLost: return "lost";
  }
  return "?";
}

PeerLink::PeerLink(zmq::context_t& context, std::string key, std::string label, const std::string& endpoint,
                   RunShare* share)
    : share_(share), key_(std::move(key)), label_(std::move(label)), endpoint_(endpoint), host_(label_) {
  last_heard_ = last_sent_ = state_since_ = created_ = Clock::now();
  auto socket = ConnectClient(context, endpoint, share_->key);
  if (!socket.ok()) {
    Exclude(socket.status().message(), true);
    return;
  }
  socket_ = std::move(*socket);
  Send(share_->hello);
}

PeerLink::~PeerLink() = default;

void PeerLink::Send(const Message& message) {
  if (!socket_) return;
  node::Send(*socket_, message);
  last_sent_ = Clock::now();
}

int PeerLink::busy() const { return static_cast<int>(leases_.size()); }

void PeerLink::Process() {
  if (!socket_) return;
  while (auto received = Receive(*socket_)) {
    if (!received->message.ok()) {
      spdlog::warn("dropped a message from {}: {}", host_, received->message.status().message());
      continue;
    }
    last_heard_ = Clock::now();
    Handle(*received->message);
    if (!socket_) return;
  }
}

void PeerLink::Handle(const Message& message) {
  const std::string& run = share_->offer.run_id;
  Scheduler& scheduler = *share_->scheduler;
  if (auto* hello = std::get_if<HelloMsg>(&message)) {
    if (state_ != State::kHello) return;
    if (!hello->host.empty()) host_ = hello->host;
    id_ = hello->node_id;
    runner_ = "peer:" + (id_.empty() ? endpoint_ : id_);  // never "", this machine's own slots
    if (!id_.empty() && !share_->node_ids.insert(id_).second) {
      duplicate_ = true;
      return Exclude("the same node as another address in this run", true, true);
    }
    if (hello->proto != kProtocolVersion) {
      return Exclude("speaks protocol version " + std::to_string(hello->proto) + ", this node " +
                         std::to_string(kProtocolVersion) + " (run the same specswarm version on both)",
                     true);
    }
    if (!hello->why_not.empty()) return Exclude(hello->why_not, true);
    if (hello->idle <= 0) return Exclude("no idle slot (" + std::to_string(hello->slots) + " busy)", true);
    OfferMsg offer = share_->offer;
    offer.slots_wanted = hello->idle;
    Send(offer);
    state_ = State::kOffered;
    state_since_ = Clock::now();
    return;
  }
  if (!std::visit([&run](const auto& m) {
        if constexpr (requires { m.run_id; }) return m.run_id == run;
        return false;
      }, message)) {
    return;  // another run's message, or one that belongs to no run: not ours
  }
  if (auto* accept = std::get_if<AcceptMsg>(&message)) {
    if (state_ != State::kOffered) return;
    slots_ = accept->slots;
    building_ = share_->packs->Request(accept->haves);  // on a thread: heartbeats go on meanwhile
    state_ = State::kSyncing;
    state_since_ = Clock::now();
    AnnouncePack();
  } else if (auto* decline = std::get_if<DeclineMsg>(&message)) {
    Exclude(decline->why, true);
  } else if (auto* request = std::get_if<ChunkRequestMsg>(&message)) {
    if (!pack_ || request->pack_id != pack_->info().pack_id) return;
    auto chunk = pack_->Read(request->offset, kChunkBytes);
    if (!chunk.ok()) return;  // a wrong offset: the peer asks again from what it has
    share_->bytes_sent += chunk->size();
    pack_bytes_ += chunk->size();
    Send(PackChunkMsg{run, request->pack_id, request->offset, std::string(*chunk)});
  } else if (auto* ready = std::get_if<ReadyMsg>(&message)) {
    if (state_ != State::kSyncing) return;
    state_ = State::kRunning;
    slots_ = ready->slots;
    ready_after_ = Since(created_);
    pack_.reset();
    char line[200];
    std::snprintf(line, sizeof line, "%s: %d slot%s ready after %.1f s", host_.c_str(), slots_, slots_ == 1 ? "" : "s",
                  Since(state_since_));
    share_->observer->OnNotice(line);
  } else if (auto* failed = std::get_if<FailedMsg>(&message)) {
    if (state_ == State::kSyncing || state_ == State::kOffered) {
      Exclude(failed->why, false);
    } else {
      Lose(failed->why);
    }
  } else if (auto* take = std::get_if<TakeMsg>(&message)) {
    if (state_ != State::kRunning) return;
    SendLease(take->slot);
  } else if (auto* example = std::get_if<ExampleMsg>(&message)) {
    const std::string* holder = scheduler.Holder(example->lease_id);
    if (!holder || *holder != runner_) return;
    exec::ExampleResult e = example->example;
    e.host = host_;
    scheduler.Example(example->lease_id, e);
  } else if (auto* result = std::get_if<ResultMsg>(&message)) {
    const std::string* holder = scheduler.Holder(result->lease_id);
    if (!holder || *holder != runner_) {
      spdlog::warn("dropped a result from {} for a file it no longer held (lease {}): it ran elsewhere", host_, result->lease_id);
      return;
    }
    leases_.erase(result->lease_id);
    exec::UnitResult unit = result->unit;
    unit.host = host_;
    for (auto& e : unit.examples) e.host = host_;
    scheduler.Done(result->lease_id, std::move(unit));
  } else if (auto* suite = std::get_if<SuiteResultMsg>(&message)) {
    exec::UnitResult unit = suite->unit;
    unit.host = host_;
    scheduler.AddRunLevelResult(std::move(unit));
  } else if (auto* returned = std::get_if<ReturnedMsg>(&message)) {
    int n = 0;
    for (int id : returned->lease_ids) {
      const std::string* holder = scheduler.Holder(id);
      if (!holder || *holder != runner_) continue;
      leases_.erase(id);
      n += scheduler.Return(id) ? 1 : 0;
    }
    if (n > 0) {
      share_->observer->OnNotice(host_ + " handed back " + std::to_string(n) + " file" + (n == 1 ? "" : "s") +
                                 (returned->why.empty() ? "" : " (" + returned->why + ")") + "; they run elsewhere");
    }
  } else if (auto* beat = std::get_if<HeartbeatMsg>(&message)) {
    heard_leases_ = std::set<int>(beat->leases.begin(), beat->leases.end());
    heard_at_ = Clock::now();
  } else if (std::get_if<DoneMsg>(&message)) {
    if (state_ == State::kFinishing || state_ == State::kRunning) {
      state_ = State::kDone;
      socket_.reset();
    }
  }
}

void PeerLink::AnnouncePack() {
  if (!building_ || !building_->done()) return;
  std::shared_ptr<PackBuilds::Build> build = std::move(building_);
  const Result<sync::PackStream>& pack = *build->result;
  if (!pack.ok()) {
    Send(CancelMsg{share_->offer.run_id, "the coordinator could not build the pack"});
    return Exclude("could not build its pack: " + pack.status().message(), false);
  }
  pack_ = pack.value();
  const sync::PackInfo& info = pack_->info();
  Send(PackInfoMsg{share_->offer.run_id, info.commit, info.pack_id, info.size, info.objects});
}

void PeerLink::SendLease(int slot) {
  std::optional<Lease> lease = share_->scheduler->Take(runner_, slot);
  if (!lease) {
    waiting_slots_.insert(slot);
    return;
  }
  waiting_slots_.erase(slot);
  leases_[lease->id] = Clock::now();
  Send(LeaseMsg{share_->offer.run_id, lease->id, slot, lease->unit.id, lease->unit.file, lease->unit.ids,
                lease->unit.except_ids});
}

void PeerLink::ServeWaiting() {
  if (state_ != State::kRunning) return;
  std::set<int> waiting = std::move(waiting_slots_);
  waiting_slots_.clear();
  for (int slot : waiting) SendLease(slot);
}

void PeerLink::Tick() {
  if (!active() || !socket_) return;
  const double silent = Since(last_heard_);
  if (state_ == State::kHello && silent > kHeartbeatExpiry) {
    return Exclude("no answer from " + endpoint_ + ": not in the same swarm, or not running", true, true);
  }
  if (state_ == State::kOffered && silent > kHeartbeatExpiry) return Exclude("did not answer the offer", false);
  if (state_ != State::kHello && silent > kHeartbeatExpiry) {
    char why[120];
    std::snprintf(why, sizeof why, "no heartbeat for %.0f s", silent);
    return Lose(why);
  }
  if (state_ == State::kSyncing) AnnouncePack();
  if (!active()) return;
  if (state_ != State::kHello && Since(last_sent_) >= kHeartbeatInterval) Send(HeartbeatMsg{share_->offer.run_id});
  if (state_ == State::kRunning && heard_at_ != Clock::time_point{}) {
    // Sent well before the peer's last heartbeat, yet not in it: the Lease never arrived.
    std::vector<int> lost;
    for (const auto& [id, since] : leases_) {
      if (since + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kLostLeaseSeconds)) < heard_at_ &&
          !heard_leases_.count(id)) {
        lost.push_back(id);
      }
    }
    for (int id : lost) {
      leases_.erase(id);
      if (share_->scheduler->Return(id)) spdlog::info("a lease to {} was lost in transit; it runs elsewhere", host_);
    }
  }
  if (share_->unit_timeout > 0) {
    std::vector<int> overdue;
    for (const auto& [id, since] : leases_) {
      if (Since(since) > share_->unit_timeout + LeaseGrace(share_->unit_timeout)) overdue.push_back(id);
    }
    for (int id : overdue) {
      leases_.erase(id);
      if (share_->scheduler->Return(id)) {
        share_->observer->OnNotice(host_ + " did not answer a file within the timeout; it runs elsewhere");
      }
    }
  }
}

void PeerLink::Finish() {
  if (state_ == State::kRunning) {
    Send(FinishMsg{share_->offer.run_id});
    state_ = State::kFinishing;
    state_since_ = Clock::now();
  } else if (active()) {
    Cancel("the run is over");
  }
}

void PeerLink::Cancel(const std::string& why) {
  if (!active()) return;
  if (state_ != State::kHello) Send(CancelMsg{share_->offer.run_id, why});
  // Never heard from before the run ended: say so, as Tick would have after the expiry.
  if (state_ == State::kHello) why_ = "no answer from " + endpoint_ + " before the run ended: not in the same swarm, or not running";
  state_ = State::kDone;
  share_->scheduler->RunnerLost(runner_);
  leases_.clear();
  socket_.reset();
}

void PeerLink::Exclude(const std::string& why, bool at_hello, bool quiet) {
  if (socket_ && state_ != State::kHello) Send(CancelMsg{share_->offer.run_id, why});
  state_ = State::kExcluded;
  why_ = why;
  excluded_at_hello_ = at_hello;
  leases_.clear();
  if (!runner_.empty() && !quiet) share_->scheduler->RunnerLost(runner_);
  socket_.reset();
  if (!quiet) share_->observer->OnNotice(host_ + " takes no work: " + why);
}

void PeerLink::Lose(const std::string& why) {
  state_ = State::kLost;
  why_ = why;
  leases_.clear();
  int back = share_->scheduler->RunnerLost(runner_);
  socket_.reset();
  share_->observer->OnNotice("lost " + host_ + " (" + why + ")" +
                             (back > 0 ? "; its " + std::to_string(back) + " file" + (back == 1 ? "" : "s") +
                                             " went back to the queue"
                                       : ""));
}

}  // namespace specswarm::node
