// TakeSnapshot: the tree a run tests is exactly the tree the developer is looking at, and
// taking it changes nothing the developer can see (refs, index, working tree).
#include <catch2/catch.hpp>

#include "sync/snapshot.h"
#include "sync_test_util.h"

using namespace specswarm;
using namespace specswarm::sync;
using namespace specswarm::sync::testing;

namespace {

// A repository with a committed base: a few Ruby files in subdirectories and a .gitignore.
void MakeBase(const GitRepo& repo) {
  repo.Write(".gitignore", "log/\n*.tmp\n");
  repo.Write("lib/app.rb", "class App\nend\n");
  repo.Write("lib/util/text.rb", "module Text\nend\n");
  repo.Write("spec/app_spec.rb", "describe App do\nend\n");
  repo.Write("README.md", "hello\n");
  repo.Commit("base");
}

}  // namespace

TEST_CASE("a clean working tree snapshots to HEAD itself", "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  CHECK(snap->clean);
  CHECK(snap->commit == repo.Head());
  CHECK(snap->base == repo.Head());
  CHECK(snap->changed_paths == 0);
}

TEST_CASE("staged, unstaged, untracked, deleted and renamed files all land in the snapshot",
          "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  repo.Write("lib/app.rb", "class App\n  STAGED = 1\nend\n");
  repo.Git("add lib/app.rb");
  repo.Write("lib/app.rb", "class App\n  STAGED = 1\n  UNSTAGED = 2\nend\n");  // staged, then edited again
  repo.Write("lib/new_file.rb", "# untracked\n");
  fs::remove(repo / "README.md");                                        // deleted, not staged
  repo.Git("mv lib/util/text.rb lib/util/words.rb");                     // renamed, staged
  repo.Write("spec/staged_only_spec.rb", "# staged then deleted\n");
  repo.Git("add spec/staged_only_spec.rb");
  fs::remove(repo / "spec/staged_only_spec.rb");

  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  CHECK_FALSE(snap->clean);
  CHECK(snap->base == repo.Head());
  CHECK(repo.Show(snap->commit, "lib/app.rb") == "class App\n  STAGED = 1\n  UNSTAGED = 2\nend\n");
  CHECK(repo.Show(snap->commit, "lib/new_file.rb") == "# untracked\n");
  CHECK(repo.Show(snap->commit, "lib/util/words.rb") == "module Text\nend\n");
  const std::string tree = repo.LsTree(snap->commit);
  CHECK(tree.find("README.md") == std::string::npos);
  CHECK(tree.find("lib/util/text.rb") == std::string::npos);
  CHECK(tree.find("staged_only_spec.rb") == std::string::npos);
  // The snapshot's parent is HEAD, so history (and `git diff HEAD <snapshot>`) makes sense.
  CHECK(Trim(repo.Git("rev-parse " + snap->commit + "^")) == repo.Head());
}

TEST_CASE("taking a snapshot moves no ref and leaves the index and working tree alone", "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  repo.Write("lib/app.rb", "class App\n  X = 1\nend\n");
  repo.Git("add lib/app.rb");
  repo.Write("lib/app.rb", "class App\n  X = 2\nend\n");
  repo.Write("untracked.rb", "1\n");
  const std::string index_before = ReadFile(repo / ".git/index");
  const auto index_mtime = Stat(repo / ".git/index").st_mtim;
  const std::string status_before = repo.Git("--no-optional-locks status --porcelain");
  const std::string refs_before = repo.Git("for-each-ref") + repo.Git("rev-parse HEAD");

  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());

  CHECK(ReadFile(repo / ".git/index") == index_before);
  CHECK(Stat(repo / ".git/index").st_mtim.tv_sec == index_mtime.tv_sec);
  CHECK(Stat(repo / ".git/index").st_mtim.tv_nsec == index_mtime.tv_nsec);
  CHECK(repo.Git("--no-optional-locks status --porcelain") == status_before);
  CHECK(repo.Git("for-each-ref") + repo.Git("rev-parse HEAD") == refs_before);
  CHECK(repo.Git("stash list").empty());
}

TEST_CASE("binary files, symlinks and executable bits are kept in the snapshot", "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  std::string binary("\x00\x01\xff\xfe PNG\r\n\x1a\n", 13);
  for (int i = 0; i < 1000; ++i) binary.push_back(static_cast<char>(i * 7));
  repo.Write("assets/logo.png", binary);
  repo.Write("bin/setup", "#!/bin/sh\necho hi\n");
  fs::permissions(repo / "bin/setup", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("../lib/app.rb", repo / "spec/app_link.rb");

  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  const std::string tree = repo.LsTree(snap->commit);
  CHECK(tree.find("100755 blob") != std::string::npos);
  CHECK(tree.find("\tbin/setup") != std::string::npos);
  CHECK(tree.find("120000 blob") != std::string::npos);
  CHECK(repo.Show(snap->commit, "spec/app_link.rb") == "../lib/app.rb");
  const std::string blob_id = Trim(repo.Git("rev-parse " + snap->commit + ":assets/logo.png"));
  CHECK(Trim(repo.Git("hash-object assets/logo.png")) == blob_id);
  CHECK(Trim(repo.Git("cat-file -s " + blob_id)) == std::to_string(binary.size()));
}

TEST_CASE("ignored files stay out of the snapshot and untracked ones can be left out too", "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  repo.Write("log/test.log", "noise\n");
  repo.Write("scratch.tmp", "noise\n");
  repo.Write("lib/wip.rb", "# not added yet\n");

  Result<Snapshot> with_untracked = TakeSnapshot(repo.path());
  REQUIRE(with_untracked.ok());
  const std::string tree = repo.LsTree(with_untracked->commit);
  CHECK(tree.find("log/test.log") == std::string::npos);
  CHECK(tree.find("scratch.tmp") == std::string::npos);
  CHECK(tree.find("lib/wip.rb") != std::string::npos);

  SnapshotOptions tracked_only;
  tracked_only.include_untracked = false;
  Result<Snapshot> without = TakeSnapshot(repo.path(), tracked_only);
  REQUIRE(without.ok());
  CHECK(without->clean);
  CHECK(without->commit == repo.Head());
}

TEST_CASE("the same dirty tree on the same HEAD gives the same snapshot id", "[sync][snapshot]") {
  GitRepo repo;
  MakeBase(repo);
  repo.Write("lib/app.rb", "class App\n  CHANGED = true\nend\n");
  Result<Snapshot> first = TakeSnapshot(repo.path());
  Result<Snapshot> second = TakeSnapshot(repo / "lib");  // from a subdirectory, too
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->commit == second->commit);
  repo.Write("lib/app.rb", "class App\n  CHANGED = :again\nend\n");
  Result<Snapshot> third = TakeSnapshot(repo.path());
  REQUIRE(third.ok());
  CHECK(third->commit != first->commit);
}

TEST_CASE("a snapshot re-hashes only the paths the stat cache flags", "[sync][snapshot]") {
  GitRepo repo;
  for (int i = 0; i < 300; ++i) repo.Write("lib/f" + std::to_string(i) + ".rb", "x = " + std::to_string(i) + "\n");
  repo.Commit("many files");
  // Let the index's timestamps age past "racily clean" so the stat cache is trusted.
  ::sleep(1);
  repo.Git("update-index --refresh");
  repo.Write("lib/f7.rb", "x = :changed\n");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  CHECK(snap->changed_paths == 1);
  CHECK(repo.Show(snap->commit, "lib/f7.rb") == "x = :changed\n");
}

TEST_CASE("a repository without commits snapshots to a root commit", "[sync][snapshot]") {
  GitRepo repo;
  repo.Write("lib/app.rb", "class App; end\n");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  CHECK(snap->base.empty());
  CHECK_FALSE(snap->clean);
  CHECK(repo.Show(snap->commit, "lib/app.rb") == "class App; end\n");
  CHECK(repo.Git("cat-file -p " + snap->commit).find("parent") == std::string::npos);
}

TEST_CASE("a directory outside any git repository is an error that says so", "[sync][snapshot]") {
  TempDir dir;
  Result<Snapshot> snap = TakeSnapshot(dir.path());
  REQUIRE_FALSE(snap.ok());
  CHECK(snap.status().message() == dir.path() + " is not inside a git repository");
  Result<Snapshot> missing = TakeSnapshot(dir / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("does not exist") != std::string::npos);
}

TEST_CASE("a submodule is refused with its path", "[sync][snapshot][refusal]") {
  GitRepo lib;
  lib.Write("lib.rb", "1\n");
  lib.Commit();
  GitRepo repo;
  MakeBase(repo);
  repo.Git("submodule --quiet add " + lib.path() + " vendor/lib");
  repo.Commit("add submodule");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE_FALSE(snap.ok());
  CHECK(snap.status().message().find("submodule or nested git repository at vendor/lib") != std::string::npos);
}

TEST_CASE("an untracked nested repository is refused with its path", "[sync][snapshot][refusal]") {
  GitRepo repo;
  MakeBase(repo);
  Sh("mkdir -p '" + repo / "engines/billing" + "' && cd '" + repo / "engines/billing" +
     "' && git init -q . && echo 1 > x.rb");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE_FALSE(snap.ok());
  CHECK(snap.status().message().find("nested git repository at engines/billing") != std::string::npos);
}

TEST_CASE("Git LFS is refused naming the attribute line and a file it covers", "[sync][snapshot][refusal]") {
  GitRepo repo;
  MakeBase(repo);
  repo.Write("assets/.gitattributes", "# media\n*.psd filter=lfs diff=lfs merge=lfs -text\n");
  repo.Write("assets/design/cover.psd",
             "version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 12345\n");
  repo.Commit("lfs");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE_FALSE(snap.ok());
  CHECK(snap.status().message().find("Git LFS is not supported: assets/.gitattributes line 2") != std::string::npos);
  CHECK(snap.status().message().find("assets/design/cover.psd") != std::string::npos);
}
