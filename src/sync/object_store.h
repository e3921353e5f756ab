// ObjectStore: a peer's copy of one repository's objects, and PackReceiver, which adds a pack
// to it.
//
// Layout under the caller's root (default ~/.cache/specswarm, see DefaultRoot()):
//   <root>/repos/<repo_key>/store.git      bare repository holding every object received
//   <root>/repos/<repo_key>/complete       commits verified complete, newest first (the haves)
//   <root>/repos/<repo_key>/incoming/      partial packs (resumable) and packs being verified
//   <root>/repos/<repo_key>/work/          work directories (see work_dir.h)
//
// A commit is "complete" only after its pack was indexed, its tree walked (every object
// present, every name safe, no submodule) and the pack moved into store.git. Verification runs
// against the store plus the new pack *beside* it, so a corrupt, truncated or lying pack never
// changes store.git or the complete list. The store is also a relay source: ServePack builds a
// pack for another peer from what this peer holds.
//
// One process at a time per repo_key: the node module serialises syncs of a repository.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sync/pack.h"

namespace specswarm::sync {

// $XDG_CACHE_HOME/specswarm, else ~/.cache/specswarm.
std::string DefaultRoot();

class ObjectStore {
 public:
  // Opens (creating when missing) the store of `repo_key` under `root`. The key is chosen by
  // the caller (e.g. the project's directory name plus a hash of its origin URL) and must be
  // 1-100 characters of [A-Za-z0-9._-].
  static Result<ObjectStore> Open(const std::string& root, const std::string& repo_key);

  const std::string& dir() const { return dir_; }          // <root>/repos/<key>
  const std::string& git_dir() const { return git_dir_; }  // <dir>/store.git

  // True when `commit` was received and verified complete.
  bool Has(const std::string& commit) const;
  // Complete commits, newest first, at most `limit`: what a peer announces as its haves.
  std::vector<std::string> Haves(size_t limit = 16) const;

  // Relay: a pack of `commit` (which this store must hold) for a peer that has `haves`.
  Result<PackStream> ServePack(const std::string& commit, const std::vector<std::string>& haves) const;

 private:
  friend class PackReceiver;
  ObjectStore(std::string dir, std::string git_dir) : dir_(std::move(dir)), git_dir_(std::move(git_dir)) {}
  Status MarkComplete(const std::string& commit) const;
  std::string dir_;
  std::string git_dir_;
};

// Receives one announced pack into a store. Bytes are spooled to <dir>/incoming/<pack_id>.part
// as they arrive, so a receiver started again for the same pack_id (after a dropped link or a
// restart) resumes at received().
class PackReceiver {
 public:
  static Result<PackReceiver> Start(const ObjectStore& store, const PackInfo& info);

  const PackInfo& info() const { return info_; }
  uint64_t received() const { return received_; }
  bool all_received() const { return received_ == info_.size; }

  // Appends a chunk that must start at received(); anything else is refused so the caller
  // re-requests from received().
  Status Append(uint64_t offset, std::string_view bytes);

  // Indexes the pack, verifies info().commit is complete against store + pack, then publishes
  // the pack into the store. On any error the store is unchanged and, unless the pack was only
  // short, the partial file is dropped (re-fetching is the only remedy for bad bytes).
  Status Finish();

  // Drops the partial file.
  void Abandon();

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  PackReceiver(ObjectStore store, PackInfo info) : store_(std::move(store)), info_(std::move(info)) {}
  std::string PartPath() const;
  Status IndexAndPublish(const std::string& staging);

  ObjectStore store_;
  PackInfo info_;
  uint64_t received_ = 0;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

}  // namespace specswarm::sync
