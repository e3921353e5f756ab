#include "discovery/seed_list.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <yaml-cpp/yaml.h>

namespace specswarm::discovery {

std::string Seed::ToString() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<Seed> ParseSeed(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::Error("bad peer '" + std::string(text) + "': " + why + " (expected HOST:PORT)");
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing port");
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("write IPv6 addresses as [ADDR]:PORT");
  }
  if (host.empty()) return bad("missing host");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535)
    return bad("port must be 1-65535");
  return Seed{std::string(host), static_cast<uint16_t>(value)};
}

Result<std::vector<Seed>> ParseSeeds(const std::vector<std::string>& texts) {
  std::vector<Seed> seeds;
  for (const std::string& text : texts) {
    auto seed = ParseSeed(text);
    if (!seed.ok()) return seed.status();
    seeds.push_back(*seed);
  }
  return seeds;
}

std::string DefaultConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
    return std::string(xdg) + "/specswarm/config.yml";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/specswarm/config.yml";
}

Result<std::vector<Seed>> LoadConfigSeeds(const std::string& path) {
  std::vector<Seed> seeds;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return seeds;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status::Error(path + ": " + e.what());  // yaml-cpp throws; we return
  }
  YAML::Node peers = root.IsMap() ? root["peers"] : YAML::Node();
  if (!peers) return seeds;
  if (!peers.IsSequence()) return Status::Error(path + ": `peers:` must be a list of HOST:PORT");
  for (const YAML::Node& entry : peers) {
    if (!entry.IsScalar()) return Status::Error(path + ": `peers:` must be a list of HOST:PORT");
    auto seed = ParseSeed(entry.Scalar());
    if (!seed.ok()) return Status::Error(path + ": " + seed.status().message());
    seeds.push_back(*seed);
  }
  return seeds;
}

}  // namespace specswarm::discovery
