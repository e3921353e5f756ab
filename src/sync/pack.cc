#include "sync/pack.h"

#include <cstring>
#include <unordered_set>

#include "sync/git.h"
#include "sync/tree_rules.h"

namespace specswarm::sync {
namespace {

struct OidHash {
  size_t operator()(const git_oid& o) const {
    size_t h;
    std::memcpy(&h, o.id, sizeof h);
    return h;
  }
};
struct OidEq {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b); }
};
using OidSet = std::unordered_set<git_oid, OidHash, OidEq>;

// Decides which objects go in the pack: everything under the wanted tree that is not under a
// tree the receiver has. A tree the receiver has implies all of its contents, so known subtrees
// are skipped whole on both walks.
class ObjectPicker {
 public:
  ObjectPicker(git_repository* repo, git_packbuilder* pb) : repo_(repo), pb_(pb) {}

  Status MarkKnown(const git_oid& tree_id) {
    if (!known_.insert(tree_id).second) return Status::Ok();
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo_, &tree_id) != 0) return GitError("cannot read tree");
    TreePtr tree(raw);
    for (size_t i = 0, n = git_tree_entrycount(raw); i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(raw, i);
      if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
        if (Status s = MarkKnown(*git_tree_entry_id(e)); !s.ok()) return s;
      } else {
        known_.insert(*git_tree_entry_id(e));
      }
    }
    return Status::Ok();
  }

  Status Add(const git_oid& tree_id, const std::string& dir) {
    if (known_.count(tree_id) || !added_.insert(tree_id).second) return Status::Ok();
    if (git_packbuilder_insert(pb_, &tree_id, dir.c_str()) != 0) return GitError("cannot pack tree");
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo_, &tree_id) != 0) return GitError("cannot read tree " + dir);
    TreePtr tree(raw);
    for (size_t i = 0, n = git_tree_entrycount(raw); i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(raw, i);
      const std::string path = dir.empty() ? git_tree_entry_name(e) : dir + "/" + git_tree_entry_name(e);
      const git_oid* id = git_tree_entry_id(e);
      switch (git_tree_entry_type(e)) {
        case GIT_OBJECT_TREE:
          if (Status s = Add(*id, path); !s.ok()) return s;
          break;
        case GIT_OBJECT_BLOB:
          if (known_.count(*id) || !added_.insert(*id).second) break;
          // The path lets libgit2 pick delta bases among blobs of the same file.
          if (git_packbuilder_insert(pb_, id, path.c_str()) != 0) return GitError("cannot pack " + path);
          break;
        default:
          return SubmoduleRefusal(path);
      }
    }
    return Status::Ok();
  }

 private:
  git_repository* repo_;
  git_packbuilder* pb_;
  OidSet known_;
  OidSet added_;
};

int AppendChunk(void* data, size_t size, void* payload) {
  static_cast<std::string*>(payload)->append(static_cast<const char*>(data), size);
  return 0;
}

}  // namespace

Result<PackStream> PackStream::Build(const std::string& repo_path, const std::string& commit,
                                     const std::vector<std::string>& haves) {
  EnsureGitInit();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, repo_path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    return GitError("cannot open repository " + repo_path);
  }
  RepoPtr repo(raw);
  return Build(repo.get(), commit, haves);
}

Result<PackStream> PackStream::Build(git_repository* repo, const std::string& commit,
                                     const std::vector<std::string>& haves) {
  EnsureGitInit();
  git_oid want;
  if (!ParseOid(commit, &want)) return Status::Error("'" + commit + "' is not a commit id");
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo, &want) != 0) {
    return Status::Error("commit " + commit + " is not in this repository");
  }
  CommitPtr want_commit(raw_commit);

  git_packbuilder* raw_pb = nullptr;
  if (git_packbuilder_new(&raw_pb, repo) != 0) return GitError("cannot start a pack");
  PackBuilderPtr pb(raw_pb);
  git_packbuilder_set_threads(pb.get(), 0);  // 0: one per core, for the large first sync

  ObjectPicker picker(repo, pb.get());
  bool has_want = false;
  for (const std::string& h : haves) {
    git_oid id;
    git_commit* c = nullptr;
    if (!ParseOid(h, &id) || git_commit_lookup(&c, repo, &id) != 0) continue;  // unknown here
    CommitPtr have(c);
    has_want = has_want || git_oid_equal(&id, &want);
    if (Status s = picker.MarkKnown(*git_commit_tree_id(c)); !s.ok()) return s;
  }
  if (!has_want) {
    if (git_packbuilder_insert(pb.get(), &want, nullptr) != 0) return GitError("cannot pack commit");
    if (Status s = picker.Add(*git_commit_tree_id(want_commit.get()), ""); !s.ok()) return s;
  }

  auto bytes = std::make_shared<std::string>();
  if (git_packbuilder_foreach(pb.get(), AppendChunk, bytes.get()) != 0) {
    return GitError("cannot write the pack");
  }
  if (bytes->size() < 32) return Status::Error("libgit2 produced a pack too short to be valid");
  git_oid trailer;
  git_oid_fromraw(&trailer, reinterpret_cast<const unsigned char*>(bytes->data() + bytes->size() - GIT_OID_RAWSZ));
  PackInfo info;
  info.commit = commit;
  info.pack_id = ToHex(trailer);
  info.size = bytes->size();
  info.objects = static_cast<uint32_t>(git_packbuilder_object_count(pb.get()));
  return PackStream(std::move(info), std::move(bytes));
}

Result<std::string_view> PackStream::Read(uint64_t offset, size_t max_bytes) const {
  if (offset > info_.size) {
    return Status::Error("pack " + info_.pack_id + " has " + std::to_string(info_.size) +
                         " bytes; offset " + std::to_string(offset) + " is past its end");
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, info_.size - offset));
  return std::string_view(bytes_->data() + offset, n);
}

}  // namespace specswarm::sync
