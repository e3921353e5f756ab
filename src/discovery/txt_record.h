// The TXT record of a `_specswarm._tcp` service: what one node says about itself on the LAN.
//
// NodeAdvert is the parsed, validated form; EncodeTxt/ParseTxt convert it to and from the
// "key=value" strings that DNS-SD carries (docs/DISCOVERY.md documents every field so that a
// third party can publish a node with the stock tools). Parsing never throws: a record with a
// missing or malformed field yields a Status that says which field and why, so the directory can
// log one line and ignore it. Unknown keys are accepted and dropped (a newer node may add some).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace specswarm::discovery {

inline constexpr const char* kServiceType = "_specswarm._tcp";
inline constexpr int kTxtVersion = 1;  // the `txtvers` this code writes and reads

struct NodeAdvert {
  int proto = 0;     // wire protocol version (owned by node/, passed in by the caller)
  std::string id;    // stable node id: [A-Za-z0-9_-]{1,64}
  std::string ver;   // specswarm version string, e.g. "0.1.0"
  int slots = 0;     // total worker slots this node offers
  int idle = 0;      // slots idle right now (0..slots)
  // The fingerprint of the node's swarm key (IsSwarmFingerprint), never the key itself; empty
  // for a node without one. Nodes with another fingerprint belong to another swarm.
  std::string key;

  bool operator==(const NodeAdvert&) const = default;
};

// "1a2b-3c4d-5e6f-7a8b-9c0d": five groups of four lowercase hex digits (node/swarm_key.h makes
// them from the key).
bool IsSwarmFingerprint(std::string_view text);

// Checks the invariants ParseTxt enforces, so a node cannot advertise what peers would reject.
Status Validate(const NodeAdvert& advert);

// "txtvers=1", "proto=…", … in a fixed order.
std::vector<std::string> EncodeTxt(const NodeAdvert& advert);

// Parses "key=value" items. Fails with a one-line reason on a missing, duplicated or malformed
// field; ignores unknown keys.
Result<NodeAdvert> ParseTxt(const std::vector<std::string>& items);

// DNS-SD wire form (RFC 6763 §6: each item prefixed by its length byte), used by the dns_sd
// backend. DecodeTxtWire returns an error on a truncated record.
std::string EncodeTxtWire(const std::vector<std::string>& items);
Result<std::vector<std::string>> DecodeTxtWire(std::string_view bytes);

}  // namespace specswarm::discovery
