#include "sync/work_dir.h"

#include <filesystem>
#include <fstream>

#include "sync/git.h"

#include <git2/sys/repository.h>

namespace specswarm::sync {
namespace fs = std::filesystem;
namespace {

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 100 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

// The store's repository with this work directory and its own index attached; nothing of this
// is persisted into store.git (set_workdir with update_gitlink = 0).
Result<RepoPtr> OpenAttached(const std::string& git_dir, const std::string& workdir,
                             const std::string& index_path, IndexPtr* index_out) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, git_dir.c_str()) != 0) return GitError("cannot open " + git_dir);
  RepoPtr repo(raw);
  if (git_repository_set_workdir(raw, workdir.c_str(), 0) != 0) return GitError("cannot attach " + workdir);
  git_index* index = nullptr;
  if (git_index_open(&index, index_path.c_str()) != 0) return GitError("cannot open " + index_path);
  index_out->reset(index);
  if (git_repository_set_index(raw, index) != 0) return GitError("cannot attach " + index_path);
  return repo;
}

}  // namespace

Result<WorkDir> WorkDir::Open(const ObjectStore& store, const std::string& slot_set) {
  EnsureGitInit();
  if (!ValidName(slot_set)) {
    return Status::Error("invalid work directory name '" + slot_set + "': use 1-100 of [A-Za-z0-9._-]");
  }
  const std::string path = store.dir() + "/work/" + slot_set;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Status::Error("cannot create " + path + ": " + ec.message());
  return WorkDir(store, slot_set, path);
}

std::optional<std::string> WorkDir::current() const {
  std::ifstream in(StatePath());
  std::string id;
  if (in >> id && IsHexId(id)) return id;
  return std::nullopt;
}

Result<CheckoutStats> WorkDir::Checkout(const std::string& commit, const CheckoutOptions& options) {
  git_oid id;
  if (!ParseOid(commit, &id)) return Status::Error("'" + commit + "' is not a commit id");
  if (!store_.Has(commit)) {
    return Status::Error("commit " + commit + " is not complete in the object store: receive its pack first");
  }
  IndexPtr index;
  Result<RepoPtr> repo = OpenAttached(store_.git_dir(), path_, IndexPath(), &index);
  if (!repo.ok()) return repo.status();
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo->get(), &id) != 0) return GitError("cannot read commit " + commit);
  CommitPtr target(raw_commit);
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, raw_commit) != 0) return GitError("cannot read tree of " + commit);
  TreePtr tree(raw_tree);

  // Until the checkout completes, the directory holds no known commit: a crash in between makes
  // the next checkout treat every difference as a change to undo.
  std::error_code ec;
  fs::remove(StatePath(), ec);

  CheckoutStats stats;
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  // FORCE: restore tracked files a run modified. REMOVE_UNTRACKED: drop files no commit has.
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED;
  if (options.remove_ignored) opts.checkout_strategy |= GIT_CHECKOUT_REMOVE_IGNORED;
  // The index is the truth about what is on disk: its stat cache is what lets unchanged files
  // be skipped without hashing them.
  opts.baseline_index = index.get();
  // libgit2 reports progress once per path it creates, updates or removes (and once with no
  // path at the start): the count of touched paths, which the reuse test pins down.
  opts.progress_cb = [](const char* path, size_t, size_t, void* payload) {
    if (path) ++static_cast<CheckoutStats*>(payload)->paths_written;
  };
  opts.progress_payload = &stats;
  if (git_checkout_tree(repo->get(), reinterpret_cast<git_object*>(raw_tree), &opts) != 0) {
    return GitError("checkout of " + commit + " into " + path_ + " failed");
  }
  std::ofstream(StatePath(), std::ios::trunc) << commit << "\n";
  return stats;
}

Result<std::vector<TrackedFile>> WorkDir::Files() const {
  git_index* raw = nullptr;
  if (git_index_open(&raw, IndexPath().c_str()) != 0) return GitError("cannot open " + IndexPath());
  IndexPtr index(raw);
  std::vector<TrackedFile> files;
  files.reserve(git_index_entrycount(raw));
  for (size_t i = 0, n = git_index_entrycount(raw); i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(raw, i);
    files.push_back({e->path, ToHex(e->id)});
  }
  return files;
}

}  // namespace specswarm::sync
