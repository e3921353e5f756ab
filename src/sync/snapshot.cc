#include "sync/snapshot.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "sync/git.h"
#include "sync/tree_rules.h"

namespace specswarm::sync {
namespace {

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Brings the in-memory index in line with the working tree: every path the stat cache flags is
// re-added (hashed into the object database) or removed. Returns how many paths changed.
Result<size_t> RefreshIndex(git_repository* repo, git_index* index, const std::string& workdir,
                            bool include_untracked) {
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_SKIP_BINARY_CHECK | GIT_DIFF_IGNORE_SUBMODULES;
  if (include_untracked) opts.flags |= GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS;
  git_diff* raw = nullptr;
  if (git_diff_index_to_workdir(&raw, repo, index, &opts) != 0) {
    return GitError("cannot compare the index with the working tree");
  }
  DiffPtr diff(raw);
  // Collect first: mutating the index while the diff still refers to its entries is unsafe.
  std::vector<std::pair<std::string, bool>> updates;  // path, exists in the working tree
  const size_t n = git_diff_num_deltas(diff.get());
  for (size_t i = 0; i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    const std::string path = d->new_file.path ? d->new_file.path : d->old_file.path;
    switch (d->status) {
      case GIT_DELTA_IGNORED:
      case GIT_DELTA_UNMODIFIED:
        break;
      case GIT_DELTA_DELETED:
        updates.emplace_back(d->old_file.path, false);
        break;
      case GIT_DELTA_UNTRACKED:
        // libgit2 reports a nested repository as one untracked directory ("vendor/lib/").
        if (!path.empty() && path.back() == '/') {
          if (PathExists(workdir + path + ".git")) {
            return SubmoduleRefusal(path.substr(0, path.size() - 1));
          }
          break;
        }
        updates.emplace_back(path, true);
        break;
      default:
        updates.emplace_back(path, PathExists(workdir + path));
        break;
    }
  }
  diff.reset();

  // Unresolved merge conflicts: the file on disk is what the developer is looking at.
  if (git_index_has_conflicts(index)) {
    git_index_conflict_iterator* it = nullptr;
    if (git_index_conflict_iterator_new(&it, index) != 0) return GitError("cannot read conflicts");
    const git_index_entry *ancestor, *ours, *theirs;
    while (git_index_conflict_next(&ancestor, &ours, &theirs, it) == 0) {
      const git_index_entry* any = ours ? ours : theirs ? theirs : ancestor;
      updates.emplace_back(any->path, PathExists(workdir + any->path));
    }
    git_index_conflict_iterator_free(it);
  }

  for (const auto& [path, exists] : updates) {
    const int rc = exists ? git_index_add_bypath(index, path.c_str())
                          : git_index_remove_bypath(index, path.c_str());
    if (rc != 0) return GitError("cannot snapshot " + path);
  }
  return updates.size();
}

}  // namespace

Result<Snapshot> TakeSnapshot(const std::string& dir, const SnapshotOptions& options) {
  EnsureGitInit();
  if (!PathExists(dir)) return Status::Error(dir + " does not exist");
  git_repository* raw_repo = nullptr;
  if (git_repository_open_ext(&raw_repo, dir.c_str(), 0, nullptr) != 0) {
    return Status::Error(dir + " is not inside a git repository");
  }
  RepoPtr repo(raw_repo);
  if (git_repository_is_bare(repo.get())) {
    return Status::Error(dir + " is a bare repository: there is no working tree to snapshot");
  }
  Snapshot snap;
  snap.workdir = git_repository_workdir(repo.get());

  // The repository's own index object: we change it in memory and never call git_index_write,
  // so the file on disk (and the developer's staging) stays exactly as it was.
  git_index* index = nullptr;
  if (git_repository_index(&index, repo.get()) != 0) return GitError("cannot read the index");
  IndexPtr index_owner(index);

  for (size_t i = 0, n = git_index_entrycount(index); i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(index, i);
    if (e->mode == GIT_FILEMODE_COMMIT) return SubmoduleRefusal(e->path);
  }

  git_oid head;
  const bool has_head = git_reference_name_to_id(&head, repo.get(), "HEAD") == 0;
  if (has_head) snap.base = ToHex(head);

  Result<size_t> changed = RefreshIndex(repo.get(), index, snap.workdir, options.include_untracked);
  if (!changed.ok()) return changed.status();
  snap.changed_paths = *changed;

  git_oid tree;
  if (git_index_write_tree(&tree, index) != 0) return GitError("cannot write the snapshot tree");
  snap.tree = ToHex(tree);
  if (Status s = CheckNoLfs(repo.get(), index); !s.ok()) return s;

  CommitPtr head_commit;
  git_time_t when = 0;
  if (has_head) {
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo.get(), &head) != 0) return GitError("cannot read HEAD");
    head_commit.reset(c);
    when = git_commit_time(c);
    if (git_oid_equal(git_commit_tree_id(c), &tree)) {
      snap.commit = snap.base;
      snap.clean = true;
      return snap;
    }
  }

  git_signature* sig = nullptr;
  if (git_signature_new(&sig, "specswarm", "specswarm@localhost", when, 0) != 0) {
    return GitError("cannot make the snapshot signature");
  }
  SignaturePtr sig_owner(sig);
  git_tree* tree_obj = nullptr;
  if (git_tree_lookup(&tree_obj, repo.get(), &tree) != 0) return GitError("cannot read the snapshot tree");
  TreePtr tree_owner(tree_obj);
  const std::string message =
      "specswarm snapshot\n\nbase: " + (has_head ? snap.base : std::string("(unborn)")) + "\n";
  const git_commit* parents[1] = {head_commit.get()};
  git_oid commit;
  // update_ref == nullptr: the commit exists only in the object database, no ref moves.
  if (git_commit_create(&commit, repo.get(), nullptr, sig, sig, "UTF-8", message.c_str(), tree_obj,
                        has_head ? 1 : 0, parents) != 0) {
    return GitError("cannot write the snapshot commit");
  }
  snap.commit = ToHex(commit);
  return snap;
}

}  // namespace specswarm::sync
