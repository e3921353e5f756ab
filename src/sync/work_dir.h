// WorkDir: a directory on a peer holding one checked-out commit of an ObjectStore, reused from
// run to run for one set of slots.
//
//   <store dir>/work/<slot_set>/         the files the Ruby workers run in
//   <store dir>/work/<slot_set>.index    libgit2 index: stat cache of what was checked out
//   <store dir>/work/<slot_set>.commit   the commit the directory holds, absent when unknown
//
// Reuse: the index remembers each file's stat data, so a new checkout compares the baseline
// (what the index says is on disk) with the target and rewrites only paths whose content or
// mode differs, deletes paths the target lacks, and leaves every other file byte-for-byte and
// inode-for-inode alone (mtime preserved, so Ruby's bootsnap and similar caches stay warm).
// Tracked files a run modified are restored; untracked files are removed; files the project
// ignores (tmp/, log/, coverage/) stay unless remove_ignored is set. The directory has no .git:
// it is a plain tree, and the ObjectStore is its only repository.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sync/object_store.h"

namespace specswarm::sync {

struct CheckoutOptions {
  bool remove_ignored = false;  // also delete ignored build products of earlier runs
};

struct CheckoutStats {
  size_t paths_written = 0;  // files created, updated or removed
};

// A tracked file of the checked-out commit and its blob id (for cache keys).
struct TrackedFile {
  std::string path;
  std::string blob;  // 40-hex
};

class WorkDir {
 public:
  // `slot_set` names the directory: 1-100 of [A-Za-z0-9._-].
  static Result<WorkDir> Open(const ObjectStore& store, const std::string& slot_set);

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const ObjectStore& store() const { return store_; }

  // The commit last checked out completely, if any.
  std::optional<std::string> current() const;

  // Makes the directory hold exactly `commit`, which the store must hold complete.
  Result<CheckoutStats> Checkout(const std::string& commit, const CheckoutOptions& options = {});

  // The files of the current checkout with their blob ids, from the index (no file is read).
  Result<std::vector<TrackedFile>> Files() const;

 private:
  WorkDir(ObjectStore store, std::string name, std::string path)
      : store_(std::move(store)), name_(std::move(name)), path_(std::move(path)) {}
  std::string IndexPath() const { return path_ + ".index"; }
  std::string StatePath() const { return path_ + ".commit"; }

  ObjectStore store_;
  std::string name_;
  std::string path_;
};

}  // namespace specswarm::sync
