// WorkDir: a peer's reusable checkout. Only what changed is rewritten; what the project ignores
// survives; modes and symlinks come out as they went in.
#include <catch2/catch.hpp>

#include "sync/snapshot.h"
#include "sync/work_dir.h"
#include "sync_test_util.h"

using namespace specswarm;
using namespace specswarm::sync;
using namespace specswarm::sync::testing;

namespace {

struct Peer {
  TempDir root;
  ObjectStore store = *ObjectStore::Open(root.path(), "project");

  // Brings `commit` of `repo` into the store, as the swarm would.
  void Receive(const GitRepo& repo, const std::string& commit) {
    Result<PackStream> pack = PackStream::Build(repo.path(), commit, store.Haves());
    REQUIRE(pack.ok());
    REQUIRE(Transfer(*pack, store).ok());
  }
};

std::string MakeProject(const GitRepo& repo) {
  repo.Write(".gitignore", "tmp/\nlog/\n");
  repo.Write("app/models/user.rb", "class User; end\n");
  repo.Write("app/models/post.rb", "class Post; end\n");
  repo.Write("spec/user_spec.rb", "describe User\n");
  repo.Write("bin/rails", "#!/bin/sh\necho rails\n");
  fs::permissions(repo / "bin/rails", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_symlink("app/models", repo / "models");
  return repo.Commit("project");
}

}  // namespace

TEST_CASE("a checkout holds the commit's files with executable bits and symlinks", "[sync][checkout]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  Peer peer;
  peer.Receive(repo, head);
  Result<WorkDir> work = WorkDir::Open(peer.store, "slots-1-4");
  REQUIRE(work.ok());
  CHECK_FALSE(work->current().has_value());
  Result<CheckoutStats> stats = work->Checkout(head);
  REQUIRE(stats.ok());
  CHECK(work->current() == head);
  CHECK(ReadFile(work->path() + "/app/models/user.rb") == "class User; end\n");
  CHECK((Stat(work->path() + "/bin/rails").st_mode & S_IXUSR) != 0);
  CHECK((Stat(work->path() + "/spec/user_spec.rb").st_mode & S_IXUSR) == 0);
  CHECK(fs::is_symlink(work->path() + "/models"));
  CHECK(fs::read_symlink(work->path() + "/models") == "app/models");
  CHECK_FALSE(fs::exists(work->path() + "/.git"));
  Result<std::vector<TrackedFile>> files = work->Files();
  REQUIRE(files.ok());
  CHECK(files->size() == 6);
}

TEST_CASE("a reused checkout rewrites only what changed and keeps ignored build products",
          "[sync][checkout]") {
  GitRepo repo;
  const std::string first = MakeProject(repo);
  Peer peer;
  peer.Receive(repo, first);
  WorkDir work = *WorkDir::Open(peer.store, "slots");
  REQUIRE(work.Checkout(first).ok());
  const std::string dir = work.path();

  // What a test run leaves behind: logs (ignored), a stray file (untracked), an edited fixture.
  WriteFile(dir + "/log/test.log", "run 1\n");
  WriteFile(dir + "/tmp/cache/bootsnap", "cache\n");
  WriteFile(dir + "/stray.txt", "left by a spec\n");
  WriteFile(dir + "/spec/user_spec.rb", "edited by a spec\n");
  ::sleep(1);  // so a rewrite would show in mtime even on coarse filesystems
  const struct stat user_before = Stat(dir + "/app/models/user.rb");
  const struct stat rails_before = Stat(dir + "/bin/rails");

  // The developer changes one file, deletes one, adds one.
  repo.Write("app/models/post.rb", "class Post; has_many :comments; end\n");
  fs::remove(repo / "spec/user_spec.rb");
  repo.Write("spec/post_spec.rb", "describe Post\n");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  peer.Receive(repo, snap->commit);
  Result<CheckoutStats> stats = work.Checkout(snap->commit);
  REQUIRE(stats.ok());
  CHECK(work.current() == snap->commit);
  // post.rb updated, post_spec.rb created, user_spec.rb and stray.txt removed: nothing else.
  CHECK(stats->paths_written == 4);

  CHECK(ReadFile(dir + "/app/models/post.rb") == "class Post; has_many :comments; end\n");
  CHECK(ReadFile(dir + "/spec/post_spec.rb") == "describe Post\n");
  CHECK_FALSE(fs::exists(dir + "/spec/user_spec.rb"));
  CHECK_FALSE(fs::exists(dir + "/stray.txt"));
  CHECK(ReadFile(dir + "/log/test.log") == "run 1\n");
  CHECK(fs::exists(dir + "/tmp/cache/bootsnap"));

  const struct stat user_after = Stat(dir + "/app/models/user.rb");
  CHECK(user_after.st_ino == user_before.st_ino);
  CHECK(user_after.st_mtim.tv_sec == user_before.st_mtim.tv_sec);
  CHECK(user_after.st_mtim.tv_nsec == user_before.st_mtim.tv_nsec);
  CHECK(Stat(dir + "/bin/rails").st_ino == rails_before.st_ino);
  CHECK(Stat(dir + "/bin/rails").st_mtim.tv_nsec == rails_before.st_mtim.tv_nsec);

  // A tracked file a run edited is restored even when the commit did not change it.
  WriteFile(dir + "/app/models/user.rb", "monkey patched\n");
  REQUIRE(work.Checkout(snap->commit).ok());
  CHECK(ReadFile(dir + "/app/models/user.rb") == "class User; end\n");
}

TEST_CASE("remove_ignored also clears ignored build products", "[sync][checkout]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  Peer peer;
  peer.Receive(repo, head);
  WorkDir work = *WorkDir::Open(peer.store, "slots");
  REQUIRE(work.Checkout(head).ok());
  WriteFile(work.path() + "/log/test.log", "old\n");
  CheckoutOptions clean;
  clean.remove_ignored = true;
  REQUIRE(work.Checkout(head, clean).ok());
  CHECK_FALSE(fs::exists(work.path() + "/log/test.log"));
  CHECK(fs::exists(work.path() + "/app/models/user.rb"));
}

TEST_CASE("checking out a commit the store does not hold is an error that touches nothing",
          "[sync][checkout][refusal]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  Peer peer;
  peer.Receive(repo, head);
  WorkDir work = *WorkDir::Open(peer.store, "slots");
  REQUIRE(work.Checkout(head).ok());
  const std::string unknown(40, 'b');
  Result<CheckoutStats> r = work.Checkout(unknown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("not complete in the object store") != std::string::npos);
  CHECK(work.current() == head);
  CHECK(ReadFile(work.path() + "/app/models/user.rb") == "class User; end\n");
  CHECK_FALSE(WorkDir::Open(peer.store, "../escape").ok());
  CHECK_FALSE(ObjectStore::Open(peer.root.path(), "a/b").ok());
}
