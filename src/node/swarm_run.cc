#include "node/swarm_run.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>

#include "discovery/backend.h"
#include "discovery/peer_cache.h"
#include "discovery/peer_directory.h"
#include "discovery/poll_loop.h"
#include "node/sockets.h"

namespace specswarm::node {
namespace {

std::atomic<bool> g_interrupted{false};
constexpr double kPersistTimeoutSeconds = 60;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void SwarmRun::Interrupt() { g_interrupted = true; }

// The local slots pull from the same scheduler as the peers, under the runner name "".
class SwarmRun::LocalSource : public UnitSource {
 public:
  explicit LocalSource(SwarmRun* run) : run_(run) {}
  std::optional<Lease> Take(int slot) override { return run_->scheduler_.Take(Scheduler::kLocal, slot); }
  void Done(const Lease& lease, exec::UnitResult result) override { run_->scheduler_.Done(lease.id, std::move(result)); }
  void Return(const Lease& lease) override { run_->scheduler_.Return(lease.id); }
  void OnExample(const Lease& lease, const exec::ExampleResult& example) override {
    run_->scheduler_.Example(lease.id, example);
  }
  void OnRunLevelResult(exec::UnitResult result) override { run_->scheduler_.AddRunLevelResult(std::move(result)); }
  void OnBooted(const std::vector<std::string>& messages) override {
    if (run_->booted_messages_shown_) return;
    run_->booted_messages_shown_ = true;
    run_->observer_->OnBooted(messages);
  }
  void OnNotice(const std::string& line) override { run_->observer_->OnNotice(line); }

 private:
  SwarmRun* run_;
};

// Finds peers while the run goes: mDNS through the platform's daemon, seeds, and the cache of
// peers seen before. Hands each candidate out once.
class SwarmRun::Finder {
 public:
  explicit Finder(const SwarmOptions& options) : options_(options) {
    directory_.set_self_id(options.self_id);
    if (options.use_cache) {
      if (auto cached = discovery::PeerCache(discovery::PeerCache::DefaultPath()).Load(); cached.ok()) {
        for (const auto& c : *cached) {
          if (c.id == options.self_id) continue;
          if (!c.swarm.empty() && c.swarm != fingerprint_) continue;  // another swarm's, last time we looked
          directory_.AddCandidate(c.addresses.empty() ? c.host : c.addresses.front(), c.port,
                                  discovery::PeerSource::kCache, c.id);
        }
      }
    }
    for (const auto& seed : options.seeds) directory_.AddCandidate(seed.host, seed.port, discovery::PeerSource::kSeed);
    if (options.mdns) {
      backend_ = discovery::MakeBackend(discovery::BackendKind::kAvahi);
      (void)backend_->Start(&directory_);
    }
  }

  void AppendPollItems(std::vector<zmq_pollitem_t>* items) const {
    if (backend_) discovery::AppendPollItems(*backend_, items);
  }
  int TimeoutMs() const { return backend_ ? backend_->TimeoutMs() : -1; }
  void Process() {
    if (backend_) backend_->Process();
  }

  struct Candidate {
    std::string key, label, endpoint, id;
  };
  std::vector<Candidate> TakeNew() {
    std::vector<Candidate> fresh;
    for (const discovery::Peer& peer : directory_.Peers()) {
      if (!peer.id.empty() && peer.id == options_.self_id) continue;
      if (handed_.count(peer.key) || (!peer.id.empty() && handed_ids_.count(peer.id))) continue;
      if (peer.port == 0) continue;
      std::string address = peer.addresses.empty() ? peer.host : peer.addresses.front();
      if (peer.advert && peer.advert->key != fingerprint_) {
        // Another swarm's node (or one without a key): never contacted, only named. Not final:
        // a member restarted with a rotated key is first seen with its old record.
        other_swarms_[peer.key] = {peer.host.empty() ? address : peer.host, TcpEndpoint(address, peer.port), "other swarm",
                                   peer.advert->key.empty() ? "has no swarm key" : "swarm " + peer.advert->key + ", not ours"};
        continue;
      }
      other_swarms_.erase(peer.key);
      handed_.insert(peer.key);
      if (!peer.id.empty()) handed_ids_.insert(peer.id);
      fresh.push_back({peer.key, peer.host.empty() ? address : peer.host, TcpEndpoint(address, peer.port), peer.id});
    }
    return fresh;
  }
  // Nodes seen on the LAN that belong to another swarm, for the summary.
  std::vector<PeerSummary> other_swarms() const {
    std::vector<PeerSummary> out;
    for (const auto& [key, summary] : other_swarms_) out.push_back(summary);
    return out;
  }

  void SaveCache() {
    if (!options_.use_cache || !backend_) return;
    bool any_mdns = false;
    for (const auto& p : directory_.Peers()) any_mdns |= p.source == discovery::PeerSource::kMdns;
    if (any_mdns) (void)discovery::PeerCache(discovery::PeerCache::DefaultPath()).Save(directory_.Peers());
  }

 private:
  const SwarmOptions& options_;
  discovery::PeerDirectory directory_;
  std::unique_ptr<discovery::Backend> backend_;
  std::set<std::string> handed_, handed_ids_;
  const std::string fingerprint_ = options_.key.Fingerprint();
  std::map<std::string, PeerSummary> other_swarms_;  // by directory key, as last seen
};

SwarmRun::SwarmRun(SwarmRunOptions options, std::vector<SpecUnit> units, RunObserver* observer)
    : options_(std::move(options)), observer_(observer), scheduler_(std::move(units), observer, options_.fail_fast) {
  share_.scheduler = &scheduler_;
  share_.observer = observer_;
  share_.hello = options_.swarm.hello;
  share_.offer = options_.swarm.offer;
  share_.repo_path = options_.swarm.repo_path;
  packs_ = std::make_unique<PackBuilds>(options_.swarm.repo_path, options_.swarm.offer.commit);
  share_.packs = packs_.get();
  share_.unit_timeout = options_.local.unit_timeout;
  share_.key = &options_.swarm.key;
}

SwarmRun::~SwarmRun() {
  for (auto& link : links_) link->Cancel("the coordinator stopped");
}

void SwarmRun::AddPeer(const std::string& key, const std::string& label, const std::string& endpoint) {
  for (const auto& link : links_) {
    if (link->endpoint() == endpoint) return;
  }
  links_.push_back(std::make_unique<PeerLink>(*context_, key, label, endpoint, &share_));
  link_started_[links_.back().get()] = std::chrono::steady_clock::now();
}

bool SwarmRun::AnyRunnerMayRun() const {
  if (pool_ && pool_->any_alive()) return true;
  return std::any_of(links_.begin(), links_.end(), [](const auto& l) { return l->may_run(); });
}

// One pass of the loop: wait on everything, then let each part handle what is ready.
void SwarmRun::Loop(const std::function<bool()>& until, bool taking) {
  const auto started = std::chrono::steady_clock::now();
  while (!until() && !g_interrupted) {
    std::vector<zmq_pollitem_t> items;
    if (pool_) {
      for (int fd : pool_->PollFds()) items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
    }
    for (auto& link : links_) {
      if (zmq::socket_t* s = link->socket()) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
    }
    if (finder_) finder_->AppendPollItems(&items);
    int timeout = pool_ ? pool_->TimeoutMs() : 1000;
    timeout = std::min(timeout, 250);  // heartbeats and deadlines
    if (finder_ && finder_->TimeoutMs() >= 0) timeout = std::min(timeout, finder_->TimeoutMs());
    zmq_poll(items.data(), static_cast<int>(items.size()), timeout);
    if (pool_) pool_->Process();
    if (finder_) {
      finder_->Process();
      if (taking) {
        for (const auto& c : finder_->TakeNew()) AddPeer(c.key, c.label, c.endpoint);
      }
    }
    for (auto& link : links_) {
      link->Process();
      link->Tick();
    }
    if (reservation_) reservation_->Tick();
    if (taking && !links_.empty() && Since(last_progress_) >= 0.5) {
      last_progress_ = std::chrono::steady_clock::now();
      ReportProgress();
    }
    if (taking && scheduler_.TakeWorkAvailable()) {
      if (pool_) pool_->Dispatch();
      for (auto& link : links_) link->ServeWaiting();
    }
    if (taking && !AnyRunnerMayRun()) {
      // Nothing can run what is left: with no local slot, wait a while for a peer to appear.
      const bool waiting = options_.local.slots == 0 && options_.swarm.enabled &&
                           Since(started) < options_.swarm.wait_for_peer && scheduler_.completed() == 0;
      if (!waiting) return;
    }
  }
}

void SwarmRun::ReportProgress() {
  std::vector<HostProgress> hosts;
  auto answered = [this](const std::string& runner) {
    auto it = scheduler_.answered().find(runner);
    return it == scheduler_.answered().end() ? 0 : it->second;
  };
  if (pool_) hosts.push_back({options_.swarm.hello.host, answered(Scheduler::kLocal), pool_->busy(), pool_->booted()});
  for (const auto& link : links_) {
    if (link->slots() == 0 || (!link->active() && answered(link->runner()) == 0)) continue;
    hosts.push_back({link->host(), answered(link->runner()), link->busy(), link->active() ? link->slots() : 0});
  }
  observer_->OnProgress(hosts);
}

RunReport SwarmRun::Run() {
  const auto start = std::chrono::steady_clock::now();
  g_interrupted = false;
  local_source_ = std::make_unique<LocalSource>(this);
  if (options_.local.slots > 0) {
    pool_ = std::make_unique<SlotPool>(options_.local, local_source_.get());
    pool_->Start();
  }
  if (options_.swarm.enabled) {
    context_ = std::make_unique<zmq::context_t>(1);
    finder_ = std::make_unique<Finder>(options_.swarm);
  }

  Loop([this] { return scheduler_.done(); }, true);
  RunReport& report = scheduler_.report();
  if (g_interrupted) {
    report.interrupted = true;
    scheduler_.Cancel();
  } else if (!scheduler_.done()) {
    const bool booted_any = (pool_ && pool_->any_booted()) ||
                            std::any_of(links_.begin(), links_.end(), [](const auto& l) { return l->state() != PeerLink::State::kExcluded && l->slots() > 0; });
    if (booted_any) {
      scheduler_.DropPending(options_.local.slots > 0 || !links_.empty()
                                 ? "no slot was left to run it (every worker died or every peer was lost)"
                                 : "no slot could run it");
    } else {
      scheduler_.Cancel();
    }
  }
  if (!report.interrupted) {
    Persist();
    Close();
  }
  if (pool_) {
    pool_->Stop();
    for (const auto& line : pool_->BootFailures()) observer_->OnNotice(line);
    report.boot_error = pool_->boot_error();
    report.boot_error_kind = pool_->boot_error_kind();
    report.slowest_boot = pool_->slowest_boot();
    report.slots = pool_->booted() > 0 ? pool_->booted() : options_.local.slots;
  }
  for (auto& link : links_) {
    if (link->active()) link->Cancel(report.interrupted ? "the run was interrupted" : "the run is over");
    if (link->duplicate()) continue;
    PeerSummary summary{link->host(), link->endpoint(), ToString(link->state()), link->why(), link->slots(), 0,
                        link->pack_bytes(), link->ready_after() < 0 ? -1 : link->ready_after() + Since(start) - Since(link_started_[link.get()])};
    auto answered = scheduler_.answered().find(link->runner());
    if (answered != scheduler_.answered().end() && !link->runner().empty()) summary.files = answered->second;
    if (summary.ready_after >= 0) report.slots += link->slots();
    peer_summary_.push_back(std::move(summary));
  }
  if (!report.boot_error.empty() && scheduler_.completed() > 0) report.boot_error.clear();  // peers ran it
  if (finder_) {
    for (const PeerSummary& other : finder_->other_swarms()) peer_summary_.push_back(other);
    finder_->SaveCache();
  }
  if (reservation_) reservation_->Release();
  report.wall_time = Since(start);
  return std::move(report);
}

void SwarmRun::Persist() {
  const std::string& status_path = pool_ ? pool_->status_path() : std::string();
  if (!options_.persist_statuses || status_path.empty()) return;
  const std::string results = options_.local.worker.scratch_dir + "/example-statuses.tsv";
  {
    std::ofstream out(results, std::ios::binary | std::ios::trunc);
    char run_time[32];
    for (const auto& unit : scheduler_.report().units()) {
      for (const auto& e : unit.examples) {
        std::snprintf(run_time, sizeof run_time, "%.6f", e.run_time);
        out << e.id << '\t' << exec::StatusName(e.status) << '\t' << run_time << '\n';
      }
    }
  }
  if (!pool_->Persist(results)) {
    observer_->OnNotice("example statuses not written to " + status_path + ": no slot was left to write them");
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  Loop([&] { return !pool_->persisting() || Since(started) > kPersistTimeoutSeconds + 1; }, false);
}

void SwarmRun::Close() {
  if (pool_) pool_->Close();
  for (auto& link : links_) link->Finish();
  const auto started = std::chrono::steady_clock::now();
  Loop(
      [&] {
        bool peers_done = std::none_of(links_.begin(), links_.end(), [](const auto& l) { return l->active(); });
        if (!peers_done && Since(started) > options_.local.close_timeout) {
          for (auto& link : links_) link->Cancel("after(:suite) hooks did not finish in time");
          peers_done = true;
        }
        return (!pool_ || pool_->closed()) && peers_done;
      },
      false);
}

}  // namespace specswarm::node
