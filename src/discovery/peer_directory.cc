#include "discovery/peer_directory.h"

#include <net/if.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace specswarm::discovery {

const char* ToString(PeerSource source) {
  switch (source) {
    case PeerSource::kMdns: return "mdns";
    case PeerSource::kSeed: return "seed";
    case PeerSource::kCache: return "cache";
    case PeerSource::kExchange: return "exchange";
  }
  return "?";
}

const char* ToString(PeerEvent::Kind kind) {
  switch (kind) {
    case PeerEvent::Kind::kAdded: return "added";
    case PeerEvent::Kind::kUpdated: return "updated";
    case PeerEvent::Kind::kRemoved: return "removed";
  }
  return "?";
}

std::string Peer::Endpoint() const {
  const std::string& a = addresses.empty() ? host : addresses.front();
  std::string shown = a.find(':') != std::string::npos ? "[" + a + "]" : a;
  return shown + ":" + std::to_string(port);
}

namespace {

bool IsLinkLocal(const std::string& address) {
  return address.size() > 4 && (address.compare(0, 4, "fe80") == 0 || address.compare(0, 4, "FE80") == 0);
}

// A link-local IPv6 address means nothing without its interface: "fe80::1%eth0", so that a
// connection to it leaves through the interface the node was seen on.
std::string WithScope(const std::string& address, int interface) {
  if (!IsLinkLocal(address) || address.find('%') != std::string::npos || interface <= 0) return address;
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(static_cast<unsigned>(interface), name)) return address;
  return address + "%" + name;
}

bool SameView(const Peer& a, const Peer& b) {
  return a.id == b.id && a.instance == b.instance && a.host == b.host &&
         a.addresses == b.addresses && a.port == b.port && a.advert == b.advert &&
         a.source == b.source;
}

}  // namespace

void PeerDirectory::OnBackendState(BackendState state, const std::string& why) {
  backend_state_ = state;
  backend_why_ = why;
  if (state_listener_) state_listener_(state, why);
}

void PeerDirectory::OnService(const ServiceEvent& e) {
  SightingKey key{e.instance, e.interface, e.family};
  if (e.kind == ServiceEvent::Kind::kRemoved) {
    ignored_.erase(key);
    OnRemoved(key);
  } else {
    OnResolved(e);
  }
}

void PeerDirectory::Ignore(const SightingKey& key, const std::string& why) {
  // A record that was valid and turned bad stops speaking for its peer.
  OnRemoved(key);
  auto [it, fresh] = ignored_.try_emplace(key, why);
  if (!fresh && it->second == why) return;  // one line per record and reason, not per resolve
  it->second = why;
  spdlog::debug("discovery: ignoring service '{}': {}", std::get<0>(key), why);
  if (ignored_listener_) ignored_listener_(std::get<0>(key), why);
}

void PeerDirectory::OnResolved(const ServiceEvent& e) {
  SightingKey key{e.instance, e.interface, e.family};
  Result<NodeAdvert> advert = ParseTxt(e.txt);
  if (!advert.ok()) return Ignore(key, advert.status().message());
  if (e.port == 0) return Ignore(key, "port 0");
  ignored_.erase(key);
  if (!self_id_.empty() && advert->id == self_id_) return;

  // The same instance may now carry another id (a node re-created with a new identity).
  if (auto it = owner_.find(key); it != owner_.end() && it->second != advert->id) OnRemoved(key);

  Sighting s{e.host, e.address, e.port, *advert, ++seq_};
  auto [it, created] = entries_.try_emplace(advert->id);
  Entry& entry = it->second;
  bool was_candidate = !created && entry.sightings.empty();
  Peer before = entry.peer;
  entry.sightings[key] = std::move(s);
  owner_[key] = advert->id;
  Rebuild(entry);
  entry.peer.last_seen = std::chrono::steady_clock::now();
  if (created)
    Emit(PeerEvent::Kind::kAdded, entry.peer);
  else if (was_candidate || !SameView(before, entry.peer))
    Emit(PeerEvent::Kind::kUpdated, entry.peer);
  DropCandidatesMatching(entry.peer);
}

void PeerDirectory::OnRemoved(const SightingKey& key) {
  auto owner = owner_.find(key);
  if (owner == owner_.end()) return;
  std::string id = owner->second;
  owner_.erase(owner);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  entry.sightings.erase(key);
  if (entry.sightings.empty()) {
    // Its last record is gone: a goodbye, or the daemon expired it. Either way, not a peer now.
    Peer last = std::move(entry.peer);
    entries_.erase(it);
    Emit(PeerEvent::Kind::kRemoved, last);
    return;
  }
  Peer before = entry.peer;
  Rebuild(entry);
  if (!SameView(before, entry.peer)) Emit(PeerEvent::Kind::kUpdated, entry.peer);
}

void PeerDirectory::Rebuild(Entry& entry) {
  const Sighting* newest = nullptr;
  std::vector<std::string> v4, v6;
  for (const auto& [key, s] : entry.sightings) {
    if (!newest || s.seq > newest->seq) newest = &s;
    if (s.address.empty()) continue;
    const std::string address = WithScope(s.address, std::get<1>(key));
    auto& list = address.find(':') == std::string::npos ? v4 : v6;
    if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(address);
  }
  if (!newest) return;
  std::sort(v4.begin(), v4.end());
  // Routable IPv6 before link-local: a link-local address reaches the node only on its link.
  std::stable_sort(v6.begin(), v6.end(), [](const std::string& a, const std::string& b) {
    return !IsLinkLocal(a) && IsLinkLocal(b);
  });
  Peer& p = entry.peer;
  p.key = newest->advert.id;
  p.id = newest->advert.id;
  for (const auto& [key, s] : entry.sightings)
    if (&s == newest) p.instance = std::get<0>(key);
  p.host = newest->host;
  p.port = newest->port;
  p.advert = newest->advert;
  p.source = PeerSource::kMdns;
  p.addresses = std::move(v4);
  p.addresses.insert(p.addresses.end(), v6.begin(), v6.end());
}

void PeerDirectory::DropCandidatesMatching(const Peer& peer) {
  std::vector<std::string> doomed;
  for (const auto& [key, entry] : entries_) {
    if (!entry.sightings.empty() || key == peer.key) continue;
    const Peer& c = entry.peer;
    bool same_place = c.port == peer.port &&
                      (c.host == peer.host ||
                       std::find(peer.addresses.begin(), peer.addresses.end(), c.host) !=
                           peer.addresses.end());
    if (same_place) doomed.push_back(key);
  }
  for (const std::string& key : doomed) {
    Peer last = std::move(entries_[key].peer);
    entries_.erase(key);
    Emit(PeerEvent::Kind::kRemoved, last);
  }
}

void PeerDirectory::AddCandidate(const std::string& host, uint16_t port, PeerSource source,
                                 const std::string& id) {
  if (!self_id_.empty() && id == self_id_) return;
  std::string key = id.empty() ? "seed:" + host + ":" + std::to_string(port) : id;
  auto [it, created] = entries_.try_emplace(key);
  if (!created) return;  // mDNS or an earlier candidate already knows it better
  Peer& p = it->second.peer;
  p.key = key;
  p.id = id;
  p.host = host;
  p.port = port;
  p.source = source;
  Emit(PeerEvent::Kind::kAdded, p);
}

void PeerDirectory::Learn(const Peer& peer) {
  if (peer.id.empty() || peer.id == self_id_) return;
  auto [it, created] = entries_.try_emplace(peer.id);
  Entry& entry = it->second;
  if (!entry.sightings.empty()) return;
  Peer before = entry.peer;
  entry.peer = peer;
  entry.peer.key = peer.id;
  entry.peer.source = PeerSource::kExchange;
  if (created) Emit(PeerEvent::Kind::kAdded, entry.peer);
  else if (!SameView(before, entry.peer)) Emit(PeerEvent::Kind::kUpdated, entry.peer);
}

void PeerDirectory::Forget(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.sightings.empty()) return;
  Peer last = std::move(it->second.peer);
  entries_.erase(it);
  Emit(PeerEvent::Kind::kRemoved, last);
}

const Peer* PeerDirectory::Find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.peer;
}

std::vector<Peer> PeerDirectory::Peers() const {
  std::vector<Peer> out;
  for (const auto& [key, entry] : entries_) out.push_back(entry.peer);
  return out;
}

void PeerDirectory::Emit(PeerEvent::Kind kind, const Peer& peer) {
  if (listener_) listener_(PeerEvent{kind, peer});
}

}  // namespace specswarm::discovery
