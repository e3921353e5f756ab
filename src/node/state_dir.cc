#include "node/state_dir.h"

#include "base/atomic_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace specswarm::node {

std::string StateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/specswarm";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/specswarm";
}

std::string RandomHexId() {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id;
  for (int i = 0; i < 16; ++i) id += "0123456789abcdef"[digit(device)];
  return id;
}

std::string ReadNodeId(const std::string& state_dir) {
  std::ifstream in(state_dir + "/node-id");
  std::string id;
  std::getline(in, id);
  if (id.empty() || id.size() > 64 || id.find_first_not_of("0123456789abcdefABCDEF-_") != std::string::npos) return "";
  return id;
}

Result<std::string> LoadOrCreateNodeId(const std::string& state_dir) {
  if (std::string id = ReadNodeId(state_dir); !id.empty()) return id;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return Status::Error("cannot create " + state_dir + ": " + ec.message() + " (set XDG_STATE_HOME to a writable directory)");
  std::string id = RandomHexId();
  if (Status s = WriteFileAtomically(state_dir + "/node-id", id + "\n"); !s.ok()) return s;
  return id;
}

}  // namespace specswarm::node
