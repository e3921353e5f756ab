#include "sync/tree_rules.h"

#include <cctype>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "sync/git.h"

namespace specswarm::sync {
namespace {

std::string Join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

struct OidHash {
  size_t operator()(const git_oid& o) const {
    size_t h;
    static_assert(sizeof h <= GIT_OID_RAWSZ);
    std::memcpy(&h, o.id, sizeof h);
    return h;
  }
};
struct OidEq {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b); }
};

// Depth-first walk that checks each tree once even when several paths share it.
class CompletenessWalk {
 public:
  explicit CompletenessWalk(git_repository* repo) : repo_(repo) {}

  Status Run(const git_oid& tree_id, const std::string& dir) {
    if (!seen_trees_.insert(tree_id).second) return Status::Ok();
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo_, &tree_id) != 0) {
      return Status::Error("tree " + ToHex(tree_id) + " (" + (dir.empty() ? "/" : dir) +
                           ") is missing from the object store");
    }
    TreePtr tree(raw);
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, repo_) != 0) return GitError("cannot open object database");
    OdbPtr odb_owner(odb);
    const size_t n = git_tree_entrycount(tree.get());
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree.get(), i);
      const std::string_view name = git_tree_entry_name(e);
      if (Status s = CheckEntryName(name, dir); !s.ok()) return s;
      const std::string path = Join(dir, name);
      const git_oid* id = git_tree_entry_id(e);
      switch (git_tree_entry_filemode_raw(e)) {
        case GIT_FILEMODE_TREE:
          if (Status s = Run(*id, path); !s.ok()) return s;
          break;
        case GIT_FILEMODE_BLOB:
        case GIT_FILEMODE_BLOB_EXECUTABLE:
        case GIT_FILEMODE_LINK:
          if (!git_odb_exists(odb, id)) {
            return Status::Error("file " + path + " (blob " + ToHex(*id) +
                                 ") is missing from the object store");
          }
          break;
        case GIT_FILEMODE_COMMIT:
          return SubmoduleRefusal(path);
        default:
          return Status::Error("tree entry " + path + " has an unsupported mode " +
                               std::to_string(git_tree_entry_filemode_raw(e)));
      }
    }
    return Status::Ok();
  }

 private:
  git_repository* repo_;
  std::unordered_set<git_oid, OidHash, OidEq> seen_trees_;
};

bool GlobMatchAt(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.substr(0, 2) == "**") {
      std::string_view rest = p.substr(2);
      if (!rest.empty() && rest[0] == '/') {
        // "**/" matches zero or more whole components.
        std::string_view after = rest.substr(1);
        if (GlobMatchAt(after, s)) return true;
        for (size_t i = 0; i < s.size(); ++i) {
          if (s[i] == '/' && GlobMatchAt(after, s.substr(i + 1))) return true;
        }
        return false;
      }
      for (size_t i = 0; i <= s.size(); ++i) {
        if (GlobMatchAt(rest, s.substr(i))) return true;
      }
      return false;
    }
    if (p[0] == '*') {
      std::string_view rest = p.substr(1);
      for (size_t i = 0; i <= s.size(); ++i) {
        if (GlobMatchAt(rest, s.substr(i))) return true;
        if (i < s.size() && s[i] == '/') break;
      }
      return false;
    }
    if (s.empty()) return false;
    if (p[0] == '?') {
      if (s[0] == '/') return false;
    } else if (p[0] != s[0]) {
      return false;
    }
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  return GlobMatchAt(pattern, path);
}

Status SubmoduleRefusal(std::string_view path) {
  return Status::Error("submodule or nested git repository at " + std::string(path) +
                       ": specswarm does not sync submodules; vendor the code or run without it");
}

Status CheckEntryName(std::string_view name, std::string_view dir) {
  auto where = [&] { return dir.empty() ? std::string("the top-level tree") : "tree " + std::string(dir); };
  if (name.empty()) return Status::Error("empty file name in " + where() + ": refused");
  if (name == "." || name == "..") {
    return Status::Error("tree entry '" + std::string(name) + "' in " + where() +
                         " would leave the work directory: refused");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::Error("tree entry '" + std::string(name) + "' in " + where() +
                         " is an absolute or multi-component path: refused");
  }
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == ".git") {
    return Status::Error("tree entry '" + std::string(name) + "' in " + where() +
                         " would write git metadata: refused");
  }
  return Status::Ok();
}

Status CheckCommitComplete(git_repository* repo, const git_oid& commit_id) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &commit_id) != 0) {
    return Status::Error("commit " + ToHex(commit_id) + " is not in the object store");
  }
  CommitPtr commit(raw);
  CompletenessWalk walk(repo);
  return walk.Run(*git_commit_tree_id(commit.get()), "");
}

Status CheckNoLfs(git_repository* repo, git_index* index) {
  const size_t n = git_index_entrycount(index);
  for (size_t i = 0; i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(index, i);
    const std::string_view path = e->path;
    if (path != ".gitattributes" && !path.ends_with("/.gitattributes")) continue;
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, repo, &e->id) != 0) return GitError("cannot read " + std::string(path));
    BlobPtr owner(blob);
    const std::string content(static_cast<const char*>(git_blob_rawcontent(blob)),
                              static_cast<size_t>(git_blob_rawsize(blob)));
    const std::string dir(path.substr(0, path.size() - std::string_view(".gitattributes").size()));
    std::istringstream lines(content);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      std::istringstream tokens(line);
      std::string pattern, attr;
      if (!(tokens >> pattern) || pattern[0] == '#') continue;
      bool lfs = false;
      while (tokens >> attr) lfs = lfs || attr == "filter=lfs";
      if (!lfs) continue;
      // Name one file the pattern catches, so the user sees what would arrive as a pointer.
      std::string example;
      for (size_t j = 0; j < n && example.empty(); ++j) {
        const std::string_view f = git_index_get_byindex(index, j)->path;
        if (f.compare(0, dir.size(), dir) != 0) continue;
        const std::string_view rel = f.substr(dir.size());
        std::string_view pat = pattern;
        bool match;
        if (pat.find('/') == std::string_view::npos) {
          const size_t slash = rel.rfind('/');
          match = GlobMatch(pat, slash == std::string_view::npos ? rel : rel.substr(slash + 1));
        } else {
          if (pat[0] == '/') pat.remove_prefix(1);
          match = GlobMatch(pat, rel);
        }
        if (match) example = f;
      }
      return Status::Error(
          "Git LFS is not supported: " + std::string(path) + " line " + std::to_string(number) + " marks '" +
          pattern + "' as filter=lfs" + (example.empty() ? "" : " (e.g. " + example + ")") +
          "; peers would get pointer files instead of content");
    }
  }
  return Status::Ok();
}

}  // namespace specswarm::sync
