// PeerDirectory: the live set of peers this node knows, keyed by node id.
//
// It listens to a Backend's raw ServiceEvents (one per instance, interface and address family)
// and folds them into one Peer per TXT `id`: a node seen on two interfaces or over IPv4 and IPv6
// is one peer with several addresses, and it is gone only when its last sighting is gone. A
// record whose TXT is missing a field or malformed is ignored with one debug log line (and the
// ignored-listener, for diagnostics), never an error. Seeds, cached peers and peers learned
// from other peers enter through AddCandidate()/Learn() and are upgraded when mDNS confirms them.
//
// Listeners fire synchronously from the backend's Process() or from the call that changed the
// directory; they may read the directory but must not modify it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "discovery/backend.h"
#include "discovery/peer.h"

namespace specswarm::discovery {

class PeerDirectory : public BackendListener {
 public:
  using Listener = std::function<void(const PeerEvent&)>;
  using IgnoredListener = std::function<void(const std::string& instance, const std::string& why)>;
  using StateListener = std::function<void(BackendState, const std::string& why)>;

  void set_listener(Listener l) { listener_ = std::move(l); }
  void set_ignored_listener(IgnoredListener l) { ignored_listener_ = std::move(l); }
  void set_state_listener(StateListener l) { state_listener_ = std::move(l); }
  // Our own advertisement comes back from the browser; it is not a peer.
  void set_self_id(std::string id) { self_id_ = std::move(id); }

  // BackendListener
  void OnService(const ServiceEvent& event) override;
  void OnBackendState(BackendState state, const std::string& why) override;

  // A peer we know only by address (seed) or from the last run (cache, with its id). mDNS
  // replaces a candidate once it sees the same id or the same address and port.
  void AddCandidate(const std::string& host, uint16_t port, PeerSource source,
                    const std::string& id = "");
  // The seam for peer exchange: node/ calls this when a peer tells it about another one.
  // Ignored for ids mDNS already sees (the LAN's word is fresher than hearsay).
  void Learn(const Peer& peer);
  // Drops a candidate or learned peer (e.g. node/ found it unreachable or out of date).
  void Forget(const std::string& key);

  const Peer* Find(const std::string& key) const;
  std::vector<Peer> Peers() const;  // sorted by key
  size_t size() const { return entries_.size(); }

  BackendState backend_state() const { return backend_state_; }
  const std::string& backend_why() const { return backend_why_; }

 private:
  using SightingKey = std::tuple<std::string, int, int>;  // instance, interface, family
  struct Sighting {
    std::string host, address;
    uint16_t port = 0;
    NodeAdvert advert;
    uint64_t seq = 0;  // order of arrival: the newest sighting speaks for the peer
  };
  struct Entry {
    Peer peer;
    std::map<SightingKey, Sighting> sightings;  // empty for candidates
  };

  void OnResolved(const ServiceEvent& e);
  void OnRemoved(const SightingKey& key);
  void Ignore(const SightingKey& key, const std::string& why);
  void Rebuild(Entry& entry);
  void DropCandidatesMatching(const Peer& peer);
  void Emit(PeerEvent::Kind kind, const Peer& peer);

  std::map<std::string, Entry> entries_;
  std::map<SightingKey, std::string> owner_;     // which entry each sighting feeds
  std::map<SightingKey, std::string> ignored_;   // last reason logged, to log once
  uint64_t seq_ = 0;
  std::string self_id_;
  BackendState backend_state_ = BackendState::kStarting;
  std::string backend_why_;
  Listener listener_;
  IgnoredListener ignored_listener_;
  StateListener state_listener_;
};

}  // namespace specswarm::discovery
