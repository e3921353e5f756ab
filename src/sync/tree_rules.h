// The rules a tree must obey before specswarm will put it on disk or ship it: every name stays
// inside the work directory, every object it names is present, and it holds nothing we cannot
// reproduce faithfully (submodules, Git LFS pointers). Both ends apply them: the developer's
// snapshot refuses early with the path to fix, and the peer's ObjectStore refuses a pack whose
// commit breaks them before the pack joins the store.
#pragma once

#include <git2.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace specswarm::sync {

// A single tree entry name: not empty, not "." or "..", no '/', no NUL, not ".git" in any case.
// `dir` is the path of the containing tree, used only for the message.
Status CheckEntryName(std::string_view name, std::string_view dir);

// Walks the whole tree of `commit` in `repo`: the commit, every tree and every blob must exist,
// names obey CheckEntryName, modes are plain files, executables, symlinks or trees (a gitlink,
// i.e. a submodule, is refused naming its path).
Status CheckCommitComplete(git_repository* repo, const git_oid& commit);

// Refuses a snapshot that uses Git LFS: any .gitattributes that assigns filter=lfs. The message
// names the .gitattributes file, its line and, when one exists, a file the pattern matches.
// Reads the (refreshed, in-memory) index rather than walking trees: a snapshot of a large
// repository must not pay for reading every tree object.
Status CheckNoLfs(git_repository* repo, git_index* index);

// The message for a submodule or nested repository at `path`.
Status SubmoduleRefusal(std::string_view path);

// Shell-style glob over '/'-separated paths: '*' and '?' stay within one path component, "**"
// spans components ("db/**" matches everything under db/). Used by hook keys and by LFS
// attribute patterns.
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace specswarm::sync
