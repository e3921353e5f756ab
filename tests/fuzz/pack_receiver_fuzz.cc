// Fuzz target: what a peer runs on a pack that came off the network. PackReceiver checks its
// header and trailer, indexes it with libgit2, verifies the commit against tree_rules (every
// object present, every name safe, no submodule) and publishes it; then WorkDir::Checkout puts
// the commit on disk. The oracle: nothing is ever written through a symlink.
//
// The input's first byte picks how the pack is made:
//   'R' <40-hex commit> <pack bytes>   a raw pack claiming that commit. The harness rewrites the
//        pack's SHA-1 trailer, so a mutation reaches the indexer instead of dying at the checksum.
//   'T' <tree>   a tree in a small line language, built into a pack object by object with
//        libgit2, names, modes and order exactly as written (so forged trees reach the checks):
//          <mode> <name> <content>   one entry; mode is written as is (100644, 120000, 160000,
//                                    anything); content is a blob's bytes or a symlink's target
//          40000 <name>              a subtree, whose entries follow until a line "end"
//          !<mode> ...               the entry's object is left out of the pack
//        Symlink targets are redirected into a trap directory beside the store (they cannot name
//        anything else on this machine); a file found in the trap after a checkout was written
//        through a symlink.
//
// Slow per input (files and the indexer): one sandbox directory per process (on /dev/shm when
// there is one), emptied between inputs.
#include <git2.h>
#include <git2/sys/mempack.h>
#include <mbedtls/sha1.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "sync/git.h"
#include "sync/object_store.h"
#include "sync/work_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace specswarm;
using namespace specswarm::sync;

struct Sandbox {
  Sandbox() {
    // In memory when the machine has /dev/shm: an input costs hundreds of file creations and
    // removals, microseconds each on tmpfs and up to a millisecond each on a journaled disk.
    const fs::path base = ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "specswarm-fuzz-pack-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string root() const { return dir + "/root"; }
  std::string trap() const { return dir + "/trap"; }
  void Clean() const {
    fs::remove_all(root());
    fs::remove_all(trap());
    fs::create_directories(trap());
  }
  std::string dir;
};

// An in-memory repository to forge objects in and pack them from (no files per input).
struct Forge {
  Forge() {
    EnsureGitInit();
    git_odb* odb = nullptr;
    FUZZ_CHECK(git_odb_new(&odb) == 0);
    FUZZ_CHECK(git_mempack_new(&mempack) == 0);
    FUZZ_CHECK(git_odb_add_backend(odb, mempack, 1) == 0);
    FUZZ_CHECK(git_repository_wrap_odb(&repo, odb) == 0);
    git_odb_free(odb);  // the repository holds its own reference
  }
  git_repository* repo = nullptr;
  git_odb_backend* mempack = nullptr;
};

struct Pack {
  std::string commit;  // 40-hex, the commit the sender claims
  std::string bytes;
};

// A symlink's target, pinned inside the trap: one component, never "." or "..".
std::string TrapTarget(const std::string& trap, std::string content) {
  for (char& c : content) {
    if (c == '/' || c == '\0') c = '_';
  }
  if (content == "." || content == "..") content = "_";
  return trap + "/" + content;
}

bool IsLinkMode(const std::string& mode) {
  // Read as libgit2 reads a tree entry's mode (octal); err on the side of "link".
  const long value = std::strtol(mode.c_str(), nullptr, 8);
  return (value & 0170000) == 0120000;
}

class TreeForge {
 public:
  TreeForge(git_repository* repo, git_packbuilder* pb, std::string trap)
      : repo_(repo), pb_(pb), trap_(std::move(trap)) {}

  // Writes the tree of lines[*pos...] up to its "end" (or the input's end); returns its id.
  git_oid Tree(const std::vector<std::string_view>& lines, size_t* pos, bool leave_out) {
    std::string body;
    while (*pos < lines.size()) {
      std::string_view line = lines[(*pos)++];
      if (line == "end") break;
      const size_t space = line.find(' ');
      std::string mode(line.substr(0, space));
      std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
      const size_t space2 = rest.find(' ');
      const std::string_view name = rest.substr(0, space2);
      std::string content(space2 == std::string_view::npos ? std::string_view() : rest.substr(space2 + 1));
      const bool missing = !mode.empty() && mode[0] == '!';
      if (missing) mode.erase(0, 1);
      git_oid id;
      if (mode == "40000" || mode == "040000") {
        id = Tree(lines, pos, missing);
      } else {
        if (IsLinkMode(mode)) content = TrapTarget(trap_, content);
        id = Write(content, GIT_OBJECT_BLOB, missing);
      }
      body += mode + " " + std::string(name) + '\0';
      body.append(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
    }
    return Write(body, GIT_OBJECT_TREE, leave_out);
  }

  git_oid Write(const std::string& bytes, git_object_t type, bool leave_out) {
    git_odb* odb = nullptr;
    git_oid id;
    FUZZ_CHECK(git_repository_odb(&odb, repo_) == 0);
    FUZZ_CHECK(git_odb_write(&id, odb, bytes.data(), bytes.size(), type) == 0);
    git_odb_free(odb);
    if (!leave_out) FUZZ_CHECK(git_packbuilder_insert(pb_, &id, nullptr) == 0);
    return id;
  }

 private:
  git_repository* repo_;
  git_packbuilder* pb_;
  std::string trap_;
};

Pack ForgePack(const Forge& forge, std::string_view text, const std::string& trap) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  git_packbuilder* pb = nullptr;
  FUZZ_CHECK(git_packbuilder_new(&pb, forge.repo) == 0);
  git_packbuilder_set_threads(pb, 1);
  TreeForge trees(forge.repo, pb, trap);
  size_t pos = 0;
  const git_oid tree = trees.Tree(lines, &pos, false);
  const std::string commit_text = "tree " + ToHex(tree) +
                                  "\nauthor Fuzz <fuzz@example.com> 0 +0000\n"
                                  "committer Fuzz <fuzz@example.com> 0 +0000\n\nforged\n";
  const git_oid commit = trees.Write(commit_text, GIT_OBJECT_COMMIT, false);
  git_buf buf = GIT_BUF_INIT;
  FUZZ_CHECK(git_packbuilder_write_buf(&buf, pb) == 0);
  Pack pack{ToHex(commit), std::string(buf.ptr, buf.size)};
  git_buf_dispose(&buf);
  git_packbuilder_free(pb);
  git_mempack_reset(forge.mempack);
  return pack;
}

// The pack's own checksum, recomputed over its bytes as a sender would have.
void FixTrailer(std::string* pack) {
  if (pack->size() < 12 + GIT_OID_RAWSZ) return;
  const size_t body = pack->size() - GIT_OID_RAWSZ;
  unsigned char sha[GIT_OID_RAWSZ];
  mbedtls_sha1_ret(reinterpret_cast<const unsigned char*>(pack->data()), body, sha);
  pack->replace(body, GIT_OID_RAWSZ, reinterpret_cast<const char*>(sha), GIT_OID_RAWSZ);
}

// What the sender announces: the trailer names the byte stream, as PackStream::Build says.
PackInfo Announce(const Pack& pack) {
  PackInfo info;
  info.commit = pack.commit;
  info.size = pack.bytes.size();
  if (pack.bytes.size() >= GIT_OID_RAWSZ) {
    git_oid trailer;
    git_oid_fromraw(&trailer, reinterpret_cast<const unsigned char*>(pack.bytes.data() + pack.bytes.size() - GIT_OID_RAWSZ));
    info.pack_id = ToHex(trailer);
  }
  if (pack.bytes.size() >= 12) {
    for (int i = 8; i < 12; ++i) info.objects = (info.objects << 8) | static_cast<uint8_t>(pack.bytes[i]);
  }
  return info;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sandbox sandbox;
  static const Forge forge;
  if (size < 1) return 0;
  sandbox.Clean();
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Pack pack;
  if (data[0] == 'R') {
    if (input.size() < 40) return 0;
    pack.commit = input.substr(0, 40);
    pack.bytes = input.substr(40);
    FixTrailer(&pack.bytes);
  } else if (data[0] == 'T') {
    pack = ForgePack(forge, input, sandbox.trap());
  } else {
    return 0;
  }

  Result<ObjectStore> store = ObjectStore::Open(sandbox.root(), "fuzz");
  FUZZ_CHECK(store.ok());
  Result<PackReceiver> receiver = PackReceiver::Start(*store, Announce(pack));
  if (!receiver.ok()) return 0;
  // SPECSWARM_FUZZ_VERBOSE=1 says what became of each input (to check that seeds go deep).
  static const bool verbose = std::getenv("SPECSWARM_FUZZ_VERBOSE") != nullptr;
  constexpr size_t kChunk = 4096;
  for (size_t offset = 0; offset < pack.bytes.size(); offset += kChunk) {
    FUZZ_CHECK(receiver->Append(offset, std::string_view(pack.bytes).substr(offset, kChunk)).ok());
  }
  const Status finished = receiver->Finish();
  if (verbose) std::fprintf(stderr, "  receive: %s\n", finished.message().c_str());
  if (!finished.ok()) {
    // Refused: the store is as it was (empty), and nothing of the pack is left behind.
    FUZZ_CHECK(!store->Has(pack.commit) && store->Haves().empty());
    FUZZ_CHECK(!fs::exists(store->git_dir() + "/objects/pack") || fs::is_empty(store->git_dir() + "/objects/pack"));
    FUZZ_CHECK(fs::is_empty(store->dir() + "/incoming"));
    return 0;
  }
  FUZZ_CHECK(store->Has(pack.commit));

  Result<WorkDir> work = WorkDir::Open(*store, "slots");
  FUZZ_CHECK(work.ok());
  Result<CheckoutStats> checkout = work->Checkout(pack.commit);
  if (verbose) std::fprintf(stderr, "  checkout: %s\n", checkout.ok() ? "ok" : checkout.status().message().c_str());
  FUZZ_CHECK(fs::is_empty(sandbox.trap()));
  return 0;
}
