// Seeds: peers named by hand, for networks where multicast does not reach (subnets, VPNs,
// Wi-Fi client isolation, servers without avahi-daemon). They come from `--peer HOST:PORT`
// flags and from a `peers:` list in the user config (~/.config/specswarm/config.yml):
//
//   peers:
//     - build01.office.example:7070
//     - 10.1.2.3:7070
//
// A seed is only an address: the node learns its id when it connects (node/'s hello).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace specswarm::discovery {

struct Seed {
  std::string host;  // name or numeric address (IPv6 without brackets)
  uint16_t port = 0;
  std::string ToString() const;  // "host:port", "[v6]:port"
  bool operator==(const Seed&) const = default;
};

// "host:port" or "[ipv6]:port"; the error says what is wrong with `text`.
Result<Seed> ParseSeed(std::string_view text);
// Every `--peer` of a command line; the first bad one is the error.
Result<std::vector<Seed>> ParseSeeds(const std::vector<std::string>& texts);

// $XDG_CONFIG_HOME/specswarm/config.yml, else ~/.config/specswarm/config.yml.
std::string DefaultConfigPath();

// The `peers:` list of a user config. A missing file or a file without `peers:` gives no
// seeds; an unreadable file or a bad entry gives an error naming the file.
Result<std::vector<Seed>> LoadConfigSeeds(const std::string& path);

}  // namespace specswarm::discovery
