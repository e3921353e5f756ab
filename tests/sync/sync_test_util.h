// Helpers for the sync tests: throwaway directories and real git repositories driven through
// the `git` command line (the way a developer makes them), plus moving a pack from a
// PackStream into a store chunk by chunk, the way the swarm will.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sync/object_store.h"
#include "sync/pack.h"

namespace specswarm::sync::testing {

using ::specswarm::Result;
using ::specswarm::Status;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "specswarm-sync-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Runs a shell command, returns its stdout; throws when it fails (a broken fixture, not a test
// result).
inline std::string Sh(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed: " + command + "\n" + out);
  return out;
}

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline void WriteFile(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline struct stat Stat(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error("lstat failed: " + path);
  return st;
}

// A working repository in a temp dir, with an identity so commits work anywhere.
class GitRepo {
 public:
  GitRepo() { Git("init -q -b main ."); }
  const std::string& path() const { return dir_.path(); }
  std::string operator/(const std::string& rel) const { return dir_ / rel; }

  std::string Git(const std::string& args) const {
    return Sh("cd '" + path() + "' && git -c user.name=Test -c user.email=test@example.com " +
              "-c commit.gpgsign=false -c protocol.file.allow=always " + args);
  }
  void Write(const std::string& rel, const std::string& content) const { WriteFile(dir_ / rel, content); }
  std::string Commit(const std::string& message = "commit") const {
    Git("add -A && git -c user.name=Test -c user.email=test@example.com commit -q -m '" + message + "'");
    return Head();
  }
  std::string Head() const { return Trim(Git("rev-parse HEAD")); }
  // "mode type id\tpath" lines of a commit's whole tree.
  std::string LsTree(const std::string& commit) const { return Git("ls-tree -r " + commit); }
  std::string Show(const std::string& commit, const std::string& rel) const {
    return Git("cat-file -p " + commit + ":" + rel);
  }

 private:
  TempDir dir_;
};

// Moves a whole pack into a store in `chunk`-byte pieces and finishes it.
inline Status Transfer(const PackStream& stream, const ObjectStore& store, size_t chunk = 64 * 1024) {
  Result<PackReceiver> receiver = PackReceiver::Start(store, stream.info());
  if (!receiver.ok()) return receiver.status();
  while (!receiver->all_received()) {
    Result<std::string_view> bytes = stream.Read(receiver->received(), chunk);
    if (!bytes.ok()) return bytes.status();
    if (Status s = receiver->Append(receiver->received(), *bytes); !s.ok()) return s;
  }
  return receiver->Finish();
}

// The names in a store's objects/pack directory, to show a failed receive changed nothing.
inline std::string PackListing(const ObjectStore& store) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store.git_dir() + "/objects/pack", ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& n : names) out += n + "\n";
  return out;
}

}  // namespace specswarm::sync::testing
