// PeerCache: the peers this machine saw last time, kept in a small JSON file so that a node
// starting where multicast is blocked (or before the LAN has answered) can try them first.
// Entries are advisory: a cached peer is a candidate until something confirms it.
//
// File: $XDG_CACHE_HOME/specswarm/peers.json (else ~/.cache/...), rewritten atomically.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "base/status.h"
#include "discovery/peer.h"

namespace specswarm::discovery {

struct CachedPeer {
  std::string id;
  std::string host;
  std::vector<std::string> addresses;
  uint16_t port = 0;
  std::string ver;
  std::string swarm;      // the fingerprint its TXT carried ("" when unknown)
  int64_t last_seen = 0;  // unix seconds
};

class PeerCache {
 public:
  static constexpr size_t kMaxEntries = 64;
  static constexpr int64_t kMaxAgeSeconds = 30 * 24 * 3600;

  explicit PeerCache(std::string path) : path_(std::move(path)) {}
  static std::string DefaultPath();
  const std::string& path() const { return path_; }

  // Newest first. A missing file is an empty cache; a corrupt one is an error the caller may
  // ignore (the cache is only a hint).
  Result<std::vector<CachedPeer>> Load() const;

  // Records the mDNS-confirmed peers in `seen` as of `now`, keeps the other entries that are
  // younger than kMaxAgeSeconds, newest first, at most kMaxEntries.
  Status Save(const std::vector<Peer>& seen, int64_t now = std::time(nullptr)) const;

 private:
  std::string path_;
};

}  // namespace specswarm::discovery
