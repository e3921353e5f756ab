#include "sync/git.h"

#include <mutex>

namespace specswarm::sync {

void EnsureGitInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
  });
}

Status GitError(std::string_view what) {
  const git_error* e = git_error_last();
  std::string msg(what);
  if (e && e->message) {
    msg += ": ";
    msg += e->message;
  }
  return Status::Error(std::move(msg));
}

std::string ToHex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return std::string(buf);
}

bool IsHexId(std::string_view hex) {
  if (hex.size() != GIT_OID_HEXSZ) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ParseOid(std::string_view hex, git_oid* out) {
  if (!IsHexId(hex)) return false;
  return git_oid_fromstrn(out, hex.data(), hex.size()) == 0;
}

}  // namespace specswarm::sync
