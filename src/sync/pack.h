// PackStream: the objects a peer lacks to hold one commit, as a git pack, served as a byte
// stream in bounded chunks.
//
// Built from any repository that holds the commit: the developer's repository (first hop) or a
// peer's ObjectStore (relay), so the coordinator's upload need not grow with the number of
// peers. A stream is immutable once built; copies share its bytes, so one build can feed many
// readers at different offsets. Chunks are addressed by offset, which makes a transfer
// resumable: the receiver says how many bytes it has (PackReceiver::received()) and the sender
// continues from there. The pack_id (the pack's own SHA-1 trailer) names the exact byte stream,
// so a receiver never splices bytes of two different builds.
//
// The pack is shallow and thin in objects (not in deltas): it holds the commit, and the trees
// and blobs of its tree that no commit in `haves` already has; parents are never sent. After a
// one-line change that is one blob, the trees on its path and one commit.
#pragma once

#include <git2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace specswarm::sync {

// What a sender announces before the bytes (the swarm issue puts it in a wire message).
struct PackInfo {
  std::string commit;   // 40-hex id the pack completes, given the receiver's haves
  std::string pack_id;  // 40-hex SHA-1 trailer of the pack: names this byte stream
  uint64_t size = 0;    // total bytes
  uint32_t objects = 0;
};

class PackStream {
 public:
  static constexpr size_t kDefaultChunk = 256 * 1024;

  // Builds the pack of `commit` minus everything reachable from the trees of `haves` (commits
  // the receiver holds completely). Haves this repository does not know are ignored; a have
  // equal to `commit` yields an empty pack. `repo_path` is any path git_repository_open_ext
  // accepts: a working tree, a .git dir, or an ObjectStore's bare repository.
  static Result<PackStream> Build(const std::string& repo_path, const std::string& commit,
                                  const std::vector<std::string>& haves);
  // Same, on an already open repository.
  static Result<PackStream> Build(git_repository* repo, const std::string& commit,
                                  const std::vector<std::string>& haves);

  const PackInfo& info() const { return info_; }

  // Up to `max_bytes` starting at `offset`; empty at the end. An offset past the end is an
  // error (the receiver's bookkeeping is wrong).
  Result<std::string_view> Read(uint64_t offset, size_t max_bytes = kDefaultChunk) const;

 private:
  PackStream(PackInfo info, std::shared_ptr<const std::string> bytes)
      : info_(std::move(info)), bytes_(std::move(bytes)) {}
  PackInfo info_;
  std::shared_ptr<const std::string> bytes_;
};

}  // namespace specswarm::sync
