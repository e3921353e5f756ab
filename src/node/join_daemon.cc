#include "node/join_daemon.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/child_process.h"
#include "discovery/advertiser.h"
#include "discovery/backend.h"
#include "discovery/peer_directory.h"
#include "discovery/poll_loop.h"
#include "exec/shim_path.h"
#include "node/gatekeeper.h"
#include "node/sockets.h"
#include "node/state_dir.h"

namespace specswarm::node {
namespace {

std::atomic<bool> g_stop{false};

const char* PhaseName(ServedRun::Phase phase) {
  switch (phase) {
    case ServedRun::Phase::kSyncing: return "syncing";
    case ServedRun::Phase::kPreparing: return "preparing";
    case ServedRun::Phase::kBooting: return "booting";
    case ServedRun::Phase::kRunning: return "running";
    case ServedRun::Phase::kClosing: return "finishing";
    case ServedRun::Phase::kReserved: return "local";
    case ServedRun::Phase::kOver: return "over";
  }
  return "?";
}

// The Ruby this machine runs, "" when there is none.
std::string RubyVersion(const std::string& ruby) {
  int code = 0;
  std::string output;
  Status ran = RunShell("'" + ruby + "' -e 'print RUBY_VERSION'", "/", {}, &code, &output, 256);
  if (!ran.ok() || code != 0) return "";
  return output;
}

// .ruby-version may name a prefix ("3.1") or the exact version ("3.1.2").
bool RubyMatches(const std::string& have, const std::string& want) {
  if (want.empty()) return true;
  return have == want || (have.rfind(want, 0) == 0 && have.size() > want.size() && have[want.size()] == '.');
}

}  // namespace

void JoinDaemon::Stop() { g_stop = true; }

JoinDaemon::JoinDaemon(JoinOptions options) : options_(std::move(options)) {}

JoinDaemon::~JoinDaemon() {
  runs_.clear();
  if (port_ > 0 && router_) {
    std::error_code ec;
    std::filesystem::remove(options_.state_dir + "/port", ec);
  }
  advertiser_.reset();
}

HelloMsg JoinDaemon::Hello() const {
  HelloMsg hello;
  hello.proto = options_.proto;
  hello.node_id = id_;
  hello.host = options_.host;
  hello.version = options_.version;
  hello.slots = options_.slots;
  hello.idle = why_not_.empty() ? Idle() : 0;
  hello.why_not = why_not_;
  return hello;
}

Status JoinDaemon::Start() {
  auto id = LoadOrCreateNodeId(options_.state_dir);
  if (!id.ok()) return id.status();
  id_ = *id;
  // The door first: a handshake that finds no ZAP handler bound is not checked.
  auto gatekeeper = Gatekeeper::Open(context_, options_.key);
  if (!gatekeeper.ok()) return gatekeeper.status();
  gatekeeper_ = std::move(*gatekeeper);
  auto router = BindServer(context_, options_.port, &options_.key);
  if (!router.ok()) return router.status();
  router_ = std::move(*router);
  if (Status s = gatekeeper_->Watch(*router_); !s.ok()) spdlog::warn("{}", s.message());
  port_ = BoundPort(*router_);
  // Runs on this machine find this node here, to count their local slots against its budget.
  if (Status s = WriteFileAtomically(options_.state_dir + "/port", std::to_string(port_) + "\n"); !s.ok()) {
    spdlog::warn("{}", s.message());
  }

  const char* ruby_env = std::getenv("SPECSWARM_RUBY");
  context_for_runs_.ruby = ruby_env && *ruby_env ? ruby_env : "ruby";
  ruby_version_ = RubyVersion(context_for_runs_.ruby);
  if (ruby_version_.empty()) why_not_ = "no `" + context_for_runs_.ruby + "` on this machine (apt-get install ruby ruby-rspec)";
  auto shim = exec::FindWorkerShim();
  if (!shim.ok() && why_not_.empty()) why_not_ = shim.status().message();
  context_for_runs_.router = &*router_;
  context_for_runs_.state_dir = options_.state_dir;
  context_for_runs_.shim = shim.ok() ? *shim : "";
  context_for_runs_.host = options_.host;

  directory_ = std::make_unique<discovery::PeerDirectory>();
  directory_->set_self_id(id_);
  for (const auto& seed : options_.peers) directory_->AddCandidate(seed.host, seed.port, discovery::PeerSource::kSeed);
  if (options_.mdns) {
    backend_ = discovery::MakeBackend(discovery::BackendKind::kAvahi);
    (void)backend_->Start(directory_.get());
    advertiser_ = std::make_unique<discovery::Advertiser>(backend_.get());
    discovery::NodeAdvert advert{options_.proto, id_, options_.version, options_.slots, Idle(), options_.key.Fingerprint()};
    if (Status s = advertiser_->Start(advert, static_cast<uint16_t>(port_)); !s.ok()) {
      spdlog::warn("not advertised on the LAN: {}", s.message());
    }
    advertised_idle_ = Idle();
  }
  spdlog::info("node {} ({}) offers {} slot{} on port {} to swarm {} ({}){}", id_, options_.host, options_.slots,
               options_.slots == 1 ? "" : "s", port_, options_.key.name, options_.key.Fingerprint(),
               why_not_.empty() ? "" : "; takes no work: " + why_not_);
  return Status::Ok();
}

int JoinDaemon::Idle() const {
  int used = 0;
  for (const auto& [id, run] : runs_) used += run->slots();
  return std::max(0, options_.slots - used);
}

// Slot numbers (TEST_ENV_NUMBER) are this machine's: concurrent runs get disjoint ranges, so
// two runs never share a database.
int JoinDaemon::FirstFreeSlot(int count) const {
  std::set<int> used;
  for (const auto& [id, run] : runs_) {
    for (int i = 0; i < run->slots(); ++i) used.insert(run->first_slot() + i);
  }
  for (int first = 1; first + count - 1 <= options_.slots; ++first) {
    bool free = true;
    for (int i = 0; i < count && free; ++i) free = !used.count(first + i);
    if (free) return first;
  }
  return 0;
}

void JoinDaemon::UpdateAdvert() {
  if (!advertiser_ || advertised_idle_ == Idle()) return;
  advertised_idle_ = Idle();
  (void)advertiser_->SetIdle(advertised_idle_);
}

void JoinDaemon::Serve() {
  g_stop = false;
  while (!g_stop) {
    std::vector<zmq_pollitem_t> items;
    items.push_back({router_->handle(), 0, ZMQ_POLLIN, 0});
    gatekeeper_->AppendPollItems(&items);
    if (backend_) discovery::AppendPollItems(*backend_, &items);
    int timeout = 1000;
    for (const auto& [id, run] : runs_) {
      for (int fd : run->PollFds()) items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
      timeout = std::min(timeout, run->TimeoutMs());
    }
    if (backend_ && backend_->TimeoutMs() >= 0) timeout = std::min(timeout, backend_->TimeoutMs());
    zmq_poll(items.data(), static_cast<int>(items.size()), std::max(timeout, 1));
    if (backend_) backend_->Process();
    for (const std::string& line : gatekeeper_->Service()) spdlog::warn("{}", line);
    for (int i = 0; i < 1000; ++i) {  // bounded, so runs' workers are served under a flood
      auto received = ReceiveFrom(*router_);
      if (!received) break;
      if (!received->message.ok()) {
        spdlog::warn("dropped a malformed message: {}", received->message.status().message());
        continue;
      }
      HandleMessage(received->routing_id, *received->message);
    }
    for (auto it = runs_.begin(); it != runs_.end();) {
      it->second->Process();
      if (it->second->over()) {
        spdlog::info("run {} from {}: {} ({} files here)", it->first, it->second->offer().coordinator_host,
                     it->second->outcome(), it->second->files_done());
        it = runs_.erase(it);
      } else {
        ++it;
      }
    }
    UpdateAdvert();
  }
  spdlog::info("leaving the swarm");
  for (auto& [id, run] : runs_) run->Leave("its node is leaving the swarm (join stopped)");
  // The goodbyes must reach the sockets before the context closes.
  zmq_pollitem_t item{router_->handle(), 0, ZMQ_POLLOUT, 0};
  zmq_poll(&item, 1, 200);
  runs_.clear();
  if (advertiser_) advertiser_->Stop();
  if (backend_) discovery::PumpOnce(*backend_, std::chrono::milliseconds(100));
}

void JoinDaemon::HandleMessage(const std::string& from, const Message& message) {
  if (auto* hello = std::get_if<HelloMsg>(&message)) {
    if (hello->proto != options_.proto) {
      std::string why = "protocol version " + std::to_string(hello->proto) + " (this node speaks " +
                        std::to_string(options_.proto) + ")";
      if (refused_[from] != why) spdlog::warn("{} ({}) takes no work from here: {}", hello->host, hello->node_id, why);
      refused_[from] = why;
    }
    SendTo(*router_, from, Hello());
    return;
  }
  if (std::get_if<StatusQueryMsg>(&message)) {
    SendTo(*router_, from, StatusReplyMsg{StatusJson().dump()});
    return;
  }
  if (auto* offer = std::get_if<OfferMsg>(&message)) return Offered(from, *offer);
  std::string run_id;
  std::visit([&run_id](const auto& m) {
    if constexpr (requires { m.run_id; }) run_id = m.run_id;
  }, message);
  auto run = runs_.find(run_id);
  if (run == runs_.end() || run->second->routing_id() != from) return;  // not a run this sender owns
  run->second->Handle(message);
}

void JoinDaemon::Offered(const std::string& from, const OfferMsg& offer) {
  auto decline = [&](const std::string& why) {
    spdlog::info("declined run {} from {}: {}", offer.run_id, offer.coordinator_host, why);
    SendTo(*router_, from, DeclineMsg{offer.run_id, why});
  };
  if (runs_.count(offer.run_id)) return;  // a repeated offer
  if (!why_not_.empty() && !offer.reserve_only) return decline(why_not_);
  if (!offer.reserve_only && !RubyMatches(ruby_version_, offer.ruby_version)) {
    return decline("Ruby " + ruby_version_ + " here, the project's .ruby-version asks for " + offer.ruby_version);
  }
  if (offer.run_id.empty() || (!offer.reserve_only && offer.commit.size() != 40)) return decline("the offer is incomplete");
  int slots = std::min(Idle(), std::max(offer.slots_wanted, 1));
  int first = 0;
  while (slots > 0 && (first = FirstFreeSlot(slots)) == 0) --slots;  // fragmented: take what is contiguous
  if (slots <= 0) return decline("no idle slot");
  auto run = std::make_unique<ServedRun>(&context_for_runs_, from, offer, first, slots);
  if (Status s = run->Begin(); !s.ok()) return decline(s.message());
  if (offer.reserve_only) {
    spdlog::info("holding {} slot{} for run {} of this machine", slots, slots == 1 ? "" : "s", offer.run_id);
  } else {
    spdlog::info("accepted run {} from {}: {} slot{}, snapshot {}", offer.run_id, offer.coordinator_host, slots,
                 slots == 1 ? "" : "s", offer.commit.substr(0, 12));
  }
  runs_[offer.run_id] = std::move(run);
  UpdateAdvert();
}

nlohmann::json JoinDaemon::StatusJson() const {
  using nlohmann::json;
  json runs = json::array();
  int busy = 0;
  for (const auto& [id, run] : runs_) {
    busy += run->slots();
    runs.push_back({{"run_id", id},
                    {"coordinator", run->offer().coordinator_host},
                    {"snapshot", run->offer().commit},
                    {"slots", run->slots()},
                    {"busy", run->busy()},
                    {"files_done", run->files_done()},
                    {"phase", PhaseName(run->phase())}});
  }
  json self = {{"id", id_},         {"host", options_.host}, {"port", port_},
               {"version", options_.version}, {"proto", options_.proto}, {"slots", options_.slots},
               {"busy", busy},      {"idle", Idle()},        {"ruby", ruby_version_},
               {"runs", runs},      {"excluded", why_not_.empty() ? json(nullptr) : json(why_not_)},
               {"swarm", options_.key.Fingerprint()}};
  json peers = json::array();
  for (const discovery::Peer& p : directory_->Peers()) {
    json peer = {{"id", p.id}, {"host", p.host}, {"address", p.addresses.empty() ? p.host : p.addresses.front()},
                 {"addresses", p.addresses}, {"port", p.port}, {"source", discovery::ToString(p.source)}};
    if (p.advert) {
      peer["version"] = p.advert->ver;
      peer["proto"] = p.advert->proto;
      peer["slots"] = p.advert->slots;
      peer["idle"] = p.advert->idle;
      peer["swarm"] = p.advert->key;
    }
    peers.push_back(std::move(peer));
  }
  return {{"node", self}, {"peers", peers}};
}

}  // namespace specswarm::node
