// Snapshot: the working tree of a git repository, exactly as the developer sees it, written as
// a commit into that repository's object database. HEAD plus staged, unstaged, deleted and (by
// default) untracked-but-not-ignored files, with modes and symlinks.
//
// Like `git stash create`, a snapshot moves no ref and leaves the index file and the working
// tree untouched: the repository's index is loaded, brought up to date in memory and never
// written back. Only the paths libgit2's stat cache reports as changed are re-hashed, so a large
// tree with a few edits snapshots in milliseconds. A clean tree yields HEAD itself.
//
// Snapshot commits are deterministic (fixed author, HEAD's commit time, a message naming the
// base): the same dirty tree on the same HEAD gives the same id, so a peer that already has it
// receives nothing.
#pragma once

#include <string>

#include "base/status.h"

namespace specswarm::sync {

struct SnapshotOptions {
  // Include untracked files that no .gitignore excludes (the default; code a developer has not
  // added yet is still code under test).
  bool include_untracked = true;
};

struct Snapshot {
  std::string commit;        // 40-hex id of the snapshot (HEAD's id when the tree is clean)
  std::string base;          // 40-hex id of HEAD, empty on an unborn branch
  std::string tree;          // 40-hex id of the snapshot's root tree
  std::string workdir;       // absolute path of the repository's working tree
  bool clean = false;        // true when commit == base
  size_t changed_paths = 0;  // paths whose index entry had to be refreshed
};

// Snapshots the repository containing `dir` (any directory inside the working tree). Refuses
// bare repositories, submodules and nested repositories, and Git LFS (see docs/SYNC.md).
Result<Snapshot> TakeSnapshot(const std::string& dir, const SnapshotOptions& options = {});

}  // namespace specswarm::sync
