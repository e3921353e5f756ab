#include "discovery/peer_cache.h"

#include "base/atomic_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

namespace specswarm::discovery {

using nlohmann::json;

std::string PeerCache::DefaultPath() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/specswarm/peers.json";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/specswarm/peers.json";
}

Result<std::vector<CachedPeer>> PeerCache::Load() const {
  std::vector<CachedPeer> out;
  std::ifstream in(path_);
  if (!in) return out;
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc["peers"].is_array())
    return Status::Error(path_ + ": not a specswarm peer cache (delete it to start afresh)");
  for (const json& j : doc["peers"]) {
    if (!j.is_object() || !j.value("id", json()).is_string() || !j.value("port", json()).is_number_unsigned())
      continue;  // one bad entry does not spoil the others
    CachedPeer p;
    p.id = j["id"];
    p.port = static_cast<uint16_t>(j["port"].get<unsigned>());
    const auto text = [&j](const char* field) {
      auto it = j.find(field);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    p.host = text("host");
    p.ver = text("ver");
    p.swarm = text("swarm");
    auto seen = j.find("last_seen");
    p.last_seen = seen != j.end() && seen->is_number_integer() ? seen->get<int64_t>() : 0;
    if (j.contains("addresses") && j["addresses"].is_array())
      for (const json& a : j["addresses"])
        if (a.is_string()) p.addresses.push_back(a);
    if (p.id.empty() || p.port == 0 || (p.host.empty() && p.addresses.empty())) continue;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const CachedPeer& a, const CachedPeer& b) { return a.last_seen > b.last_seen; });
  return out;
}

Status PeerCache::Save(const std::vector<Peer>& seen, int64_t now) const {
  std::map<std::string, CachedPeer> by_id;
  if (auto old = Load(); old.ok())
    for (CachedPeer& p : *old)
      if (now - p.last_seen <= kMaxAgeSeconds) by_id[p.id] = std::move(p);
  for (const Peer& p : seen) {
    if (p.source != PeerSource::kMdns || p.id.empty()) continue;
    by_id[p.id] = CachedPeer{p.id, p.host, p.addresses, p.port, p.advert ? p.advert->ver : "",
                             p.advert ? p.advert->key : "", now};
  }
  std::vector<CachedPeer> all;
  for (auto& [id, p] : by_id) all.push_back(std::move(p));
  std::sort(all.begin(), all.end(),
            [](const CachedPeer& a, const CachedPeer& b) { return a.last_seen > b.last_seen; });
  if (all.size() > kMaxEntries) all.resize(kMaxEntries);

  json peers = json::array();
  for (const CachedPeer& p : all)
    peers.push_back({{"id", p.id}, {"host", p.host}, {"addresses", p.addresses}, {"port", p.port},
                     {"ver", p.ver}, {"swarm", p.swarm}, {"last_seen", p.last_seen}});
  // Write then rename: a crash or a concurrent `discover` never leaves half a file.
  return WriteFileAtomically(path_, json{{"version", 1}, {"peers", peers}}.dump(2) + "\n");
}

}  // namespace specswarm::discovery
