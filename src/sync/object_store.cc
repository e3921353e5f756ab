#include "sync/object_store.h"

#include "base/atomic_file.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sync/git.h"
#include "sync/tree_rules.h"

namespace specswarm::sync {
namespace fs = std::filesystem;
namespace {

constexpr size_t kCompleteListLimit = 256;

bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > 100 || key == "." || key == "..") return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (IsHexId(line)) lines.push_back(line);
  }
  return lines;
}


}  // namespace

std::string DefaultRoot() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/specswarm";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/specswarm";
}

Result<ObjectStore> ObjectStore::Open(const std::string& root, const std::string& repo_key) {
  EnsureGitInit();
  if (!ValidKey(repo_key)) {
    return Status::Error("invalid repository key '" + repo_key + "': use 1-100 of [A-Za-z0-9._-]");
  }
  const std::string dir = (fs::path(root) / "repos" / repo_key).string();
  const std::string git_dir = dir + "/store.git";
  std::error_code ec;
  fs::create_directories(dir + "/incoming", ec);
  if (ec) return Status::Error("cannot create " + dir + ": " + ec.message());
  git_repository* raw = nullptr;
  if (!fs::exists(git_dir + "/HEAD")) {
    if (git_repository_init(&raw, git_dir.c_str(), /*is_bare=*/1) != 0) {
      return GitError("cannot create object store " + git_dir);
    }
    RepoPtr repo(raw);
    // Work directories are checked out from this repository: make them faithful on Linux and
    // macOS whatever libgit2 probed for a bare repository.
    git_config* cfg = nullptr;
    if (git_repository_config(&cfg, repo.get()) != 0) return GitError("cannot configure " + git_dir);
    ConfigPtr cfg_owner(cfg);
    if (git_config_set_bool(cfg, "core.symlinks", 1) != 0 ||
        git_config_set_bool(cfg, "core.filemode", 1) != 0 ||
        git_config_set_bool(cfg, "core.autocrlf", 0) != 0) {
      return GitError("cannot configure " + git_dir);
    }
  }
  return ObjectStore(dir, git_dir);
}

bool ObjectStore::Has(const std::string& commit) const {
  for (const std::string& c : ReadLines(dir_ + "/complete")) {
    if (c == commit) return true;
  }
  return false;
}

std::vector<std::string> ObjectStore::Haves(size_t limit) const {
  std::vector<std::string> all = ReadLines(dir_ + "/complete");
  if (all.size() > limit) all.resize(limit);
  return all;
}

Status ObjectStore::MarkComplete(const std::string& commit) const {
  std::string content = commit + "\n";
  size_t kept = 1;
  for (const std::string& c : ReadLines(dir_ + "/complete")) {
    if (c == commit || kept >= kCompleteListLimit) continue;
    content += c + "\n";
    ++kept;
  }
  return WriteFileAtomically(dir_ + "/complete", content);
}

Result<PackStream> ObjectStore::ServePack(const std::string& commit,
                                          const std::vector<std::string>& haves) const {
  if (!Has(commit)) return Status::Error("this peer does not hold commit " + commit);
  return PackStream::Build(git_dir_, commit, haves);
}

// --- PackReceiver ---------------------------------------------------------------------------

Result<PackReceiver> PackReceiver::Start(const ObjectStore& store, const PackInfo& info) {
  if (!IsHexId(info.commit)) return Status::Error("pack announces an invalid commit id");
  if (!IsHexId(info.pack_id)) return Status::Error("pack announces an invalid pack id");
  if (info.size < 32) return Status::Error("pack announces " + std::to_string(info.size) + " bytes: too short");
  PackReceiver r(store, info);
  std::error_code ec;
  const uintmax_t have = fs::file_size(r.PartPath(), ec);
  if (!ec) {
    if (have <= info.size) {
      r.received_ = have;
    } else {
      fs::remove(r.PartPath(), ec);
    }
  }
  return r;
}

std::string PackReceiver::PartPath() const {
  return store_.dir() + "/incoming/" + info_.pack_id + ".part";
}

Status PackReceiver::Append(uint64_t offset, std::string_view bytes) {
  if (offset != received_) {
    return Status::Error("pack chunk at offset " + std::to_string(offset) + " but " +
                         std::to_string(received_) + " bytes received: resend from there");
  }
  if (received_ + bytes.size() > info_.size) {
    return Status::Error("pack " + info_.pack_id + " sent more than the announced " +
                         std::to_string(info_.size) + " bytes");
  }
  if (!file_) {
    file_.reset(std::fopen(PartPath().c_str(), "ab"));
    if (!file_) return Status::Error("cannot write " + PartPath() + ": " + std::strerror(errno));
  }
  // Flushed per chunk so that received() after a restart is what the file holds.
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size() || std::fflush(file_.get()) != 0) {
    return Status::Error("cannot write " + PartPath() + ": " + std::strerror(errno));
  }
  received_ += bytes.size();
  return Status::Ok();
}

void PackReceiver::Abandon() {
  file_.reset();
  std::error_code ec;
  fs::remove(PartPath(), ec);
  received_ = 0;
}

Status PackReceiver::Finish() {
  if (!all_received()) {
    return Status::Error("pack for " + info_.commit + " is truncated: " + std::to_string(received_) +
                         " of " + std::to_string(info_.size) + " bytes received");
  }
  file_.reset();
  const std::string staging = store_.dir() + "/incoming/" + info_.pack_id + ".d";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return Status::Error("cannot create " + staging + ": " + ec.message());
  Status s = IndexAndPublish(staging);
  fs::remove_all(staging, ec);
  Abandon();
  if (!s.ok()) return Status::Error("pack for commit " + info_.commit + " rejected: " + s.message());
  return Status::Ok();
}

Status PackReceiver::IndexAndPublish(const std::string& staging) {
  std::ifstream in(PartPath(), std::ios::binary);
  char header[12];
  if (!in.read(header, sizeof header) || std::memcmp(header, "PACK", 4) != 0) {
    return Status::Error("not a git pack");
  }
  const uint32_t count = (uint32_t(uint8_t(header[8])) << 24) | (uint32_t(uint8_t(header[9])) << 16) |
                         (uint32_t(uint8_t(header[10])) << 8) | uint32_t(uint8_t(header[11]));
  unsigned char trailer[GIT_OID_RAWSZ];
  in.seekg(-static_cast<std::streamoff>(sizeof trailer), std::ios::end);
  if (!in.read(reinterpret_cast<char*>(trailer), sizeof trailer)) return Status::Error("cannot read pack trailer");
  git_oid trailer_id;
  git_oid_fromraw(&trailer_id, trailer);
  if (ToHex(trailer_id) != info_.pack_id) {
    return Status::Error("pack checksum " + ToHex(trailer_id) + " is not the announced " + info_.pack_id);
  }
  // Every object takes at least one byte. libgit2 allocates for the header's count before it
  // reads an object (8 bytes each: 32 GB for a count near 2^32), so a count the bytes cannot
  // hold is refused here.
  if (count > info_.size - 32) {
    return Status::Error("pack header counts " + std::to_string(count) + " objects in " +
                         std::to_string(info_.size) + " bytes");
  }

  git_oid commit;
  ParseOid(info_.commit, &commit);
  const std::string objects_dir = store_.git_dir() + "/objects";
  std::string pack_name;
  if (count > 0) {
    git_indexer_options opts = GIT_INDEXER_OPTIONS_INIT;
    git_indexer* raw_idx = nullptr;
    if (git_indexer_new(&raw_idx, staging.c_str(), 0, nullptr, &opts) != 0) return GitError("cannot index pack");
    IndexerPtr indexer(raw_idx);
    git_indexer_progress stats{};
    in.seekg(0);
    std::vector<char> buf(std::min<uint64_t>(info_.size, 1 << 20));  // a small pack needs no 1 MB
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (in.gcount() > 0 && git_indexer_append(raw_idx, buf.data(), static_cast<size_t>(in.gcount()), &stats) != 0) {
        return GitError("corrupt pack");
      }
    }
    if (git_indexer_commit(raw_idx, &stats) != 0) return GitError("corrupt or truncated pack");
    pack_name = std::string("pack-") + git_indexer_name(raw_idx);
  }

  // Verify against the store plus the new pack, still outside the store.
  {
    git_odb* raw_odb = nullptr;
    if (git_odb_open(&raw_odb, objects_dir.c_str()) != 0) return GitError("cannot open object store");
    OdbPtr odb(raw_odb);
    if (!pack_name.empty()) {
      git_odb_backend* backend = nullptr;
      const std::string idx_path = staging + "/" + pack_name + ".idx";
      if (git_odb_backend_one_pack(&backend, idx_path.c_str()) != 0) return GitError("cannot open indexed pack");
      if (git_odb_add_backend(raw_odb, backend, 10) != 0) return GitError("cannot open indexed pack");
    }
    git_repository* raw_repo = nullptr;
    if (git_repository_wrap_odb(&raw_repo, raw_odb) != 0) return GitError("cannot open object store");
    RepoPtr repo(raw_repo);
    if (Status s = CheckCommitComplete(repo.get(), commit); !s.ok()) return s;
  }

  if (!pack_name.empty()) {
    // .pack before .idx: readers discover packs by their index, so they never see half a pair.
    const std::string dest = objects_dir + "/pack/" + pack_name;
    std::error_code ec;
    fs::create_directories(objects_dir + "/pack", ec);
    fs::rename(staging + "/" + pack_name + ".pack", dest + ".pack", ec);
    if (!ec) fs::rename(staging + "/" + pack_name + ".idx", dest + ".idx", ec);
    if (ec) return Status::Error("cannot move pack into " + objects_dir + ": " + ec.message());
  }
  return store_.MarkComplete(info_.commit);
}

}  // namespace specswarm::sync
