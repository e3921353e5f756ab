// Packs: a peer receives exactly the objects it lacks, in bounded chunks, resumably, from the
// developer or from another peer; anything corrupt, short or lying leaves its store as it was.
#include <catch2/catch.hpp>

#include <git2.h>

#include "sync/git.h"
#include "sync/object_store.h"
#include "sync/pack.h"
#include "sync/snapshot.h"
#include "sync_test_util.h"

using namespace specswarm;
using namespace specswarm::sync;
using namespace specswarm::sync::testing;

namespace {

// A small project: 20 files across 3 directory levels.
std::string MakeProject(const GitRepo& repo) {
  for (int i = 0; i < 10; ++i) repo.Write("app/models/m" + std::to_string(i) + ".rb", "class M" + std::to_string(i) + "; end\n");
  for (int i = 0; i < 10; ++i) repo.Write("spec/models/m" + std::to_string(i) + "_spec.rb", "describe M" + std::to_string(i) + "\n");
  repo.Write("Gemfile.lock", "GEM\n");
  return repo.Commit("project");
}

// The commit, its root tree, and every tree and blob below it.
size_t CountObjects(const GitRepo& repo, const std::string& commit) {
  const std::string listing = repo.Git("ls-tree -r -t " + commit);
  return 2 + static_cast<size_t>(std::count(listing.begin(), listing.end(), '\n'));
}

ObjectStore OpenStore(const TempDir& root, const std::string& key = "project") {
  Result<ObjectStore> store = ObjectStore::Open(root.path(), key);
  REQUIRE(store.ok());
  return *store;
}

// Writes a raw tree object holding one file under `name` (which libgit2's tree builder would
// refuse) and a commit of it, as a hostile peer could.
std::string ForgeCommitWithEntry(const GitRepo& repo, const std::string& name) {
  EnsureGitInit();
  git_repository* raw = nullptr;
  REQUIRE(git_repository_open(&raw, repo.path().c_str()) == 0);
  git_odb* odb = nullptr;
  REQUIRE(git_repository_odb(&odb, raw) == 0);
  git_oid blob;
  REQUIRE(git_odb_write(&blob, odb, "pwned\n", 6, GIT_OBJECT_BLOB) == 0);
  std::string tree_bytes = "100644 " + name + std::string(1, '\0');
  tree_bytes.append(reinterpret_cast<const char*>(blob.id), GIT_OID_RAWSZ);
  git_oid tree;
  REQUIRE(git_odb_write(&tree, odb, tree_bytes.data(), tree_bytes.size(), GIT_OBJECT_TREE) == 0);
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &tree);
  git_odb_free(odb);
  git_repository_free(raw);
  return Trim(repo.Git(std::string("commit-tree ") + hex + " -m forged"));
}

}  // namespace

TEST_CASE("an empty peer receives the whole tree of the commit and nothing of its history", "[sync][pack]") {
  GitRepo repo;
  repo.Write("old.rb", "old history\n");
  repo.Commit("first");
  fs::remove(repo / "old.rb");
  const std::string head = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  CHECK(store.Haves().empty());

  Result<PackStream> pack = PackStream::Build(repo.path(), head, store.Haves());
  REQUIRE(pack.ok());
  CHECK(pack->info().commit == head);
  CHECK(pack->info().objects == CountObjects(repo, head));
  CHECK(pack->info().pack_id.size() == 40);

  REQUIRE(Transfer(*pack, store).ok());
  CHECK(store.Has(head));
  CHECK(store.Haves() == std::vector<std::string>{head});
  // The parent commit and old.rb were not sent.
  const std::string parent = Trim(repo.Git("rev-parse HEAD^"));
  CHECK(Sh("git --git-dir='" + store.git_dir() + "' cat-file -e " + parent + " 2>&1 || echo missing").find("missing") != std::string::npos);
  CHECK(Sh("git --git-dir='" + store.git_dir() + "' cat-file -p " + head + ":app/models/m3.rb") == "class M3; end\n");
}

TEST_CASE("after a one-line change the pack holds only the new blob, the trees on its path and the commit",
          "[sync][pack]") {
  GitRepo repo;
  const std::string base = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  REQUIRE(Transfer(*PackStream::Build(repo.path(), base, {}), store).ok());

  repo.Write("app/models/m4.rb", "class M4; def x; 1; end; end\n");  // dirty, not committed
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  Result<PackStream> pack = PackStream::Build(repo.path(), snap->commit, store.Haves());
  REQUIRE(pack.ok());
  // blob m4.rb + trees app/models, app, root + the snapshot commit
  CHECK(pack->info().objects == 5);
  CHECK(pack->info().size < 1024);
  REQUIRE(Transfer(*pack, store).ok());
  CHECK(store.Has(snap->commit));
  CHECK(store.Haves().front() == snap->commit);
}

TEST_CASE("a peer that already holds the commit gets an empty pack", "[sync][pack]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  REQUIRE(Transfer(*PackStream::Build(repo.path(), head, {}), store).ok());
  const std::string packs_before = PackListing(store);
  Result<PackStream> again = PackStream::Build(repo.path(), head, store.Haves());
  REQUIRE(again.ok());
  CHECK(again->info().objects == 0);
  REQUIRE(Transfer(*again, store).ok());
  CHECK(store.Has(head));
  CHECK(PackListing(store) == packs_before);
}

TEST_CASE("a peer holding a commit relays it to another peer", "[sync][pack][relay]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  TempDir root_a, root_b;
  ObjectStore a = OpenStore(root_a);
  ObjectStore b = OpenStore(root_b);
  REQUIRE(Transfer(*PackStream::Build(repo.path(), head, {}), a).ok());

  Result<PackStream> relayed = a.ServePack(head, b.Haves());
  REQUIRE(relayed.ok());
  REQUIRE(Transfer(*relayed, b).ok());
  CHECK(b.Has(head));

  // Incremental relay too: b announces its haves to a, and gets only the difference.
  repo.Write("spec/models/m1_spec.rb", "describe M1 do; end\n");
  Result<Snapshot> snap = TakeSnapshot(repo.path());
  REQUIRE(snap.ok());
  REQUIRE(Transfer(*PackStream::Build(repo.path(), snap->commit, a.Haves()), a).ok());
  Result<PackStream> delta = a.ServePack(snap->commit, b.Haves());
  REQUIRE(delta.ok());
  CHECK(delta->info().objects == 5);
  REQUIRE(Transfer(*delta, b).ok());
  CHECK(b.Has(snap->commit));

  // A peer does not serve what it does not hold.
  Result<ObjectStore> empty = ObjectStore::Open(root_b.path(), "other");
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->ServePack(head, {}).ok());
}

TEST_CASE("a transfer resumes where it stopped and refuses out-of-order chunks", "[sync][pack]") {
  GitRepo repo;
  const std::string head = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  Result<PackStream> pack = PackStream::Build(repo.path(), head, {});
  REQUIRE(pack.ok());
  REQUIRE(pack->info().size > 1000);
  const size_t chunk = 300;
  {
    Result<PackReceiver> first = PackReceiver::Start(store, pack->info());
    REQUIRE(first.ok());
    REQUIRE(first->Append(0, *pack->Read(0, chunk)).ok());
    REQUIRE(first->Append(chunk, *pack->Read(chunk, chunk)).ok());
    // A chunk from the wrong offset (a duplicate, or a gap) is refused, naming where to resume.
    Status dup = first->Append(0, *pack->Read(0, chunk));
    CHECK_FALSE(dup.ok());
    CHECK(dup.message().find("600 bytes received") != std::string::npos);
    Status finish = first->Finish();
    CHECK_FALSE(finish.ok());
    CHECK(finish.message().find("truncated: 600 of") != std::string::npos);
  }  // the link drops; the receiver is gone
  Result<PackReceiver> resumed = PackReceiver::Start(store, pack->info());
  REQUIRE(resumed.ok());
  CHECK(resumed->received() == 2 * chunk);
  while (!resumed->all_received()) {
    REQUIRE(resumed->Append(resumed->received(), *pack->Read(resumed->received(), chunk)).ok());
  }
  REQUIRE(resumed->Finish().ok());
  CHECK(store.Has(head));
  CHECK_FALSE(pack->Read(pack->info().size + 1).ok());
  CHECK(pack->Read(pack->info().size)->empty());
}

TEST_CASE("a corrupt pack is rejected and the store stays as it was", "[sync][pack][refusal]") {
  GitRepo repo;
  const std::string base = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  REQUIRE(Transfer(*PackStream::Build(repo.path(), base, {}), store).ok());
  repo.Write("app/models/m1.rb", std::string(5000, 'x'));
  const std::string next = repo.Commit("big change");
  Result<PackStream> pack = PackStream::Build(repo.path(), next, store.Haves());
  REQUIRE(pack.ok());
  const std::string packs_before = PackListing(store);

  // Flip one byte in the middle of the compressed data, keep the announced size and id.
  std::string bytes(*pack->Read(0, pack->info().size));
  bytes[bytes.size() / 2] ^= 0x5a;
  Result<PackReceiver> receiver = PackReceiver::Start(store, pack->info());
  REQUIRE(receiver.ok());
  REQUIRE(receiver->Append(0, bytes).ok());
  Status s = receiver->Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("rejected") != std::string::npos);
  CHECK_FALSE(store.Has(next));
  CHECK(store.Haves() == std::vector<std::string>{base});
  CHECK(PackListing(store) == packs_before);
  CHECK(fs::is_empty(store.dir() + "/incoming"));
}

TEST_CASE("a pack that does not hold the promised commit is rejected", "[sync][pack][refusal]") {
  GitRepo repo;
  const std::string first = MakeProject(repo);
  repo.Write("Gemfile.lock", "GEM\n  rails\n");
  const std::string second = repo.Commit("second");
  TempDir root;
  ObjectStore store = OpenStore(root);
  Result<PackStream> pack = PackStream::Build(repo.path(), first, {});
  REQUIRE(pack.ok());
  PackInfo lie = pack->info();
  lie.commit = second;
  Result<PackReceiver> receiver = PackReceiver::Start(store, lie);
  REQUIRE(receiver.ok());
  REQUIRE(receiver->Append(0, *pack->Read(0, lie.size)).ok());
  Status s = receiver->Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("commit " + second + " is not in the object store") != std::string::npos);
  CHECK(PackListing(store).empty());
  CHECK(store.Haves().empty());

  // A pack whose bytes do not match its announced id is refused before indexing.
  PackInfo wrong_id = pack->info();
  wrong_id.pack_id = std::string(40, 'a');
  Result<PackReceiver> r2 = PackReceiver::Start(store, wrong_id);
  REQUIRE(r2.ok());
  REQUIRE(r2->Append(0, *pack->Read(0, wrong_id.size)).ok());
  Status s2 = r2->Finish();
  REQUIRE_FALSE(s2.ok());
  CHECK(s2.message().find("is not the announced") != std::string::npos);
}

TEST_CASE("a pack header counting more objects than the pack has bytes is refused before indexing",
          "[sync][pack][refusal]") {
  // Found by fuzzing: libgit2's indexer allocated 8 bytes per announced object up front (32 GB).
  GitRepo repo;
  const std::string head = MakeProject(repo);
  TempDir root;
  ObjectStore store = OpenStore(root);
  Result<PackStream> pack = PackStream::Build(repo.path(), head, {});
  REQUIRE(pack.ok());
  std::string bytes(*pack->Read(0, pack->info().size));
  bytes.replace(8, 4, "\xfc\xff\xff\xf7");
  Result<PackReceiver> receiver = PackReceiver::Start(store, pack->info());
  REQUIRE(receiver.ok());
  REQUIRE(receiver->Append(0, bytes).ok());
  Status s = receiver->Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("pack header counts 4244635639 objects in " + std::to_string(bytes.size()) + " bytes") !=
        std::string::npos);
  CHECK_FALSE(store.Has(head));
  CHECK(PackListing(store).empty());
}

TEST_CASE("tree entries that would leave the work directory are rejected", "[sync][pack][refusal]") {
  const std::string name = GENERATE(std::string(".."), std::string("/etc/passwd"), std::string(".git"),
                                    std::string("a/../../b"));
  GitRepo repo;
  MakeProject(repo);
  const std::string forged = ForgeCommitWithEntry(repo, name);
  TempDir root;
  ObjectStore store = OpenStore(root);
  Result<PackStream> pack = PackStream::Build(repo.path(), forged, {});
  REQUIRE(pack.ok());
  Status s = Transfer(*pack, store);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("tree entry '" + name + "'") != std::string::npos);
  CHECK(s.message().find("refused") != std::string::npos);
  CHECK_FALSE(store.Has(forged));
  CHECK(PackListing(store).empty());
}
