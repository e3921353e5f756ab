// Peer: what this node knows about one other node, whichever way it learned of it. The
// PeerDirectory owns the live set; everything else gets copies.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "discovery/txt_record.h"

namespace specswarm::discovery {

enum class PeerSource {
  kMdns,      // browsed and resolved on the LAN; the only source with a live, proven TXT
  kSeed,      // `--peer HOST:PORT` or `peers:` in the user config
  kCache,     // seen on an earlier run (PeerCache), not yet confirmed this time
  kExchange,  // named by another peer (the swarm protocol's peer exchange, see Learn())
};
const char* ToString(PeerSource source);

struct Peer {
  std::string key;    // the id when known; "seed:HOST:PORT" for a seed whose id is unknown
  std::string id;     // empty until the node told us (TXT or hello)
  std::string instance;                 // DNS-SD instance name, mDNS peers only
  std::string host;                     // host name ("ws12.local") or the seed's host
  // Numeric, deduplicated: IPv4, then routable IPv6, then link-local IPv6 with its scope
  // ("fe80::1%eth0"), so the first one is the best to connect to.
  std::vector<std::string> addresses;
  uint16_t port = 0;
  std::optional<NodeAdvert> advert;     // parsed TXT; absent for a seed not yet contacted
  PeerSource source = PeerSource::kMdns;
  std::chrono::steady_clock::time_point last_seen{};

  // "HOST:PORT" with the first numeric address if there is one, IPv6 in brackets.
  std::string Endpoint() const;
};

struct PeerEvent {
  enum class Kind { kAdded, kUpdated, kRemoved };
  Kind kind = Kind::kAdded;
  Peer peer;  // for kRemoved, the last view of the peer
};
const char* ToString(PeerEvent::Kind kind);

}  // namespace specswarm::discovery
