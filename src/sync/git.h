// Thin C++ ownership over libgit2: one unique_ptr alias per libgit2 handle type, the one-time
// library initialisation, and the translation of libgit2's thread-local last error into a
// specswarm::Status. Everything in src/sync/ goes through these so no handle leaks on an early
// return and every failure reads as one human line.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace specswarm::sync {

// Initialises libgit2 once per process (idempotent, thread-safe); every entry point calls it.
void EnsureGitInit();

// "<what>: <libgit2's message>" for the error of the last failing libgit2 call on this thread.
Status GitError(std::string_view what);

template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
template <typename T, void (*Free)(T*)>
using GitPtr = std::unique_ptr<T, GitDeleter<T, Free>>;

using RepoPtr = GitPtr<git_repository, git_repository_free>;
using IndexPtr = GitPtr<git_index, git_index_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using ObjectPtr = GitPtr<git_object, git_object_free>;
using OdbPtr = GitPtr<git_odb, git_odb_free>;
using OdbObjectPtr = GitPtr<git_odb_object, git_odb_object_free>;
using DiffPtr = GitPtr<git_diff, git_diff_free>;
using PackBuilderPtr = GitPtr<git_packbuilder, git_packbuilder_free>;
using IndexerPtr = GitPtr<git_indexer, git_indexer_free>;
using SignaturePtr = GitPtr<git_signature, git_signature_free>;
using ConfigPtr = GitPtr<git_config, git_config_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;

// Object ids cross the module line as 40 lowercase hex characters (what `git` prints and what
// a wire message carries); these convert at the libgit2 boundary.
std::string ToHex(const git_oid& oid);
bool ParseOid(std::string_view hex, git_oid* out);
bool IsHexId(std::string_view hex);

}  // namespace specswarm::sync
