// SwarmKey: membership in a swarm. One CurveZMQ keypair shared by every member, like a
// WireGuard pre-shared key: holding the file is membership. Every ZeroMQ link of `join`, `run`
// and `status` is CURVE with this key on both ends (node/sockets.h), and a node admits only
// clients presenting it (node/gatekeeper.h). Rotating the key (`key new --force`, then handing
// the new file to the members) excludes whoever still holds the old one.
//
// The file, $XDG_CONFIG_HOME/specswarm/swarm.key (default ~/.config/specswarm/swarm.key), mode
// 0600, is text so that it can be handed over in a message:
//
//   # specswarm swarm key ...   (comments)
//   name: backend
//   public: <40 Z85 characters>
//   secret: <40 Z85 characters>
//
// The fingerprint (a hash of the public key, "1a2b-3c4d-5e6f-7a8b-9c0d") is what the TXT record
// publishes and `key show` prints: it tells swarms apart without revealing the key.
// Plain values and free functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace specswarm::node {

struct SwarmKey {
  std::string name;        // the team's label, for people; [A-Za-z0-9._-]{1,40}
  std::string public_z85;  // 40 Z85 characters (32 bytes)
  std::string secret_z85;  // 40 Z85 characters (32 bytes)

  std::string Fingerprint() const;
  bool operator==(const SwarmKey&) const = default;
};

// The default file: $XDG_CONFIG_HOME/specswarm/swarm.key, else ~/.config/specswarm/swarm.key.
std::string DefaultSwarmKeyPath();

// A fresh keypair. Fails only if `name` is not a valid label.
Result<SwarmKey> NewSwarmKey(const std::string& name);

// The file's text, and back. ParseSwarmKey names the line at fault ("line 3: ...") and checks
// that the secret belongs to the public key.
std::string FormatSwarmKey(const SwarmKey& key);
Result<SwarmKey> ParseSwarmKey(std::string_view text);

// The key in `path`, or nullopt when there is no such file. A file that others may read, or
// that does not parse, is an error naming the file and what to do.
Result<std::optional<SwarmKey>> LoadSwarmKey(const std::string& path);

// Writes `key` to `path` with mode 0600 (its folder 0700), atomically. Refuses to replace a
// different key unless `force`; writing the key already there is a no-op.
Status SaveSwarmKey(const std::string& path, const SwarmKey& key, bool force);

// The one line `join` prints when it has no key, and `run` puts in its header.
std::string NoSwarmKeyAdvice(const std::string& path);

}  // namespace specswarm::node
