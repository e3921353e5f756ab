// sync_bench: measures src/sync/ end to end on a real repository, in one process, phase by
// phase: snapshot, pack build, chunked receive (index + verify + publish), checkout.
//
//   sync_bench first REPO [RUNS]        fresh peer each run: the first sync
//   sync_bench incremental REPO [RUNS]  one-line change each run, to a peer that has the last one
//   sync_bench snapshot REPO            one snapshot, prints the id (for hyperfine)
//   sync_bench relay REPO [RUNS]        peer A -> peer B from A's store, fresh B each run
//
// The transport is a memcpy of 256 KiB chunks: this measures what sync costs the two ends,
// not the network. Prints one line per run and the median of each column.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "sync/object_store.h"
#include "sync/pack.h"
#include "sync/snapshot.h"
#include "sync/work_dir.h"

using namespace specswarm;
using namespace specswarm::sync;
namespace fs = std::filesystem;

namespace {

struct Row {
  double snapshot_ms = 0, build_ms = 0, receive_ms = 0, checkout_ms = 0;
  uint64_t bytes = 0;
  uint32_t objects = 0;
  size_t written = 0;
  double total() const { return snapshot_ms + build_ms + receive_ms + checkout_ms; }
};

double Ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "sync_bench: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

std::string TempRoot() {
  std::string t = (fs::temp_directory_path() / "sync-bench-peer-XXXXXX").string();
  if (!::mkdtemp(t.data())) std::exit(1);
  return t;
}

Status Transfer(const PackStream& pack, const ObjectStore& store) {
  Result<PackReceiver> r = PackReceiver::Start(store, pack.info());
  if (!r.ok()) return r.status();
  while (!r->all_received()) {
    Result<std::string_view> chunk = pack.Read(r->received());
    if (!chunk.ok()) return chunk.status();
    if (Status s = r->Append(r->received(), *chunk); !s.ok()) return s;
  }
  return r->Finish();
}

// Snapshot `repo`, send it to `store` from `source_path` (the repo, or a relay store), check out.
Row SyncOnce(const std::string& repo, const std::string& source_path, const ObjectStore& store,
             std::string* commit_out = nullptr) {
  Row row;
  auto t0 = std::chrono::steady_clock::now();
  std::string commit;
  if (commit_out && !commit_out->empty()) {
    commit = *commit_out;  // relay: the commit is given
  } else {
    Result<Snapshot> snap = TakeSnapshot(repo);
    if (!snap.ok()) Die("snapshot", snap.status());
    commit = snap->commit;
  }
  auto t1 = std::chrono::steady_clock::now();
  Result<PackStream> pack = PackStream::Build(source_path, commit, store.Haves());
  if (!pack.ok()) Die("pack", pack.status());
  auto t2 = std::chrono::steady_clock::now();
  if (Status s = Transfer(*pack, store); !s.ok()) Die("receive", s);
  auto t3 = std::chrono::steady_clock::now();
  Result<WorkDir> work = WorkDir::Open(store, "slots");
  if (!work.ok()) Die("workdir", work.status());
  Result<CheckoutStats> co = work->Checkout(commit);
  if (!co.ok()) Die("checkout", co.status());
  auto t4 = std::chrono::steady_clock::now();
  row.snapshot_ms = Ms(t0, t1);
  row.build_ms = Ms(t1, t2);
  row.receive_ms = Ms(t2, t3);
  row.checkout_ms = Ms(t3, t4);
  if (const char* dump = std::getenv("SYNC_BENCH_DUMP_PACK")) {  // for `git verify-pack -v`
    std::ofstream(dump, std::ios::binary | std::ios::trunc) << *pack->Read(0, pack->info().size);
  }
  row.bytes = pack->info().size;
  row.objects = pack->info().objects;
  row.written = co->paths_written;
  if (commit_out) *commit_out = commit;
  return row;
}

void Print(const char* label, const Row& r) {
  std::printf("%-8s snapshot %8.1f ms | pack %8.1f ms | receive %8.1f ms | checkout %8.1f ms | total %8.1f ms | %10llu bytes %6u objects | %5zu paths written\n",
              label, r.snapshot_ms, r.build_ms, r.receive_ms, r.checkout_ms, r.total(),
              static_cast<unsigned long long>(r.bytes), r.objects, r.written);
}

void PrintMedian(std::vector<Row> rows) {
  auto med = [&](std::function<double(const Row&)> f) {
    std::vector<double> v;
    for (const Row& r : rows) v.push_back(f(r));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Row m;
  m.snapshot_ms = med([](const Row& r) { return r.snapshot_ms; });
  m.build_ms = med([](const Row& r) { return r.build_ms; });
  m.receive_ms = med([](const Row& r) { return r.receive_ms; });
  m.checkout_ms = med([](const Row& r) { return r.checkout_ms; });
  m.bytes = static_cast<uint64_t>(med([](const Row& r) { return double(r.bytes); }));
  m.objects = static_cast<uint32_t>(med([](const Row& r) { return double(r.objects); }));
  m.written = static_cast<size_t>(med([](const Row& r) { return double(r.written); }));
  Print("median", m);
  std::printf("median total %.1f ms\n", med([](const Row& r) { return r.total(); }));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sync_bench first|incremental|relay|snapshot REPO [RUNS]\n");
    return 2;
  }
  const std::string mode = argv[1], repo = argv[2];
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;

  if (mode == "snapshot") {
    Result<Snapshot> snap = TakeSnapshot(repo);
    if (!snap.ok()) Die("snapshot", snap.status());
    std::printf("%s\n", snap->commit.c_str());
    return 0;
  }

  std::vector<Row> rows;
  if (mode == "first") {
    for (int i = 0; i < runs; ++i) {
      const std::string root = TempRoot();
      Result<ObjectStore> store = ObjectStore::Open(root, "bench");
      if (!store.ok()) Die("store", store.status());
      rows.push_back(SyncOnce(repo, repo, *store));
      Print(("run " + std::to_string(i + 1)).c_str(), rows.back());
      fs::remove_all(root);
    }
  } else if (mode == "incremental") {
    const std::string root = TempRoot();
    Result<ObjectStore> store = ObjectStore::Open(root, "bench");
    if (!store.ok()) Die("store", store.status());
    Print("warmup", SyncOnce(repo, repo, *store));  // the peer's first sync
    // The one-line change: a model file gets one more line each run.
    // SYNC_BENCH_FILE (relative to REPO) picks another file, for repositories of other shapes.
    std::string target;
    if (const char* f = std::getenv("SYNC_BENCH_FILE")) target = repo + "/" + f;
    for (const auto& e : fs::recursive_directory_iterator(target.empty() ? repo + "/app/models" : repo)) {
      if (!target.empty()) break;
      if (e.is_regular_file()) { target = e.path().string(); break; }
    }
    const std::string original = [&] { std::ifstream in(target); return std::string(std::istreambuf_iterator<char>(in), {}); }();
    for (int i = 0; i < runs; ++i) {
      std::ofstream(target, std::ios::app) << "# edited by sync_bench run " << i << "\n";
      rows.push_back(SyncOnce(repo, repo, *store));
      Print(("run " + std::to_string(i + 1)).c_str(), rows.back());
    }
    std::ofstream(target, std::ios::trunc) << original;
    fs::remove_all(root);
  } else if (mode == "relay") {
    const std::string root_a = TempRoot();
    Result<ObjectStore> a = ObjectStore::Open(root_a, "bench");
    if (!a.ok()) Die("store", a.status());
    std::string commit;
    Print("to A", SyncOnce(repo, repo, *a, &commit));
    for (int i = 0; i < runs; ++i) {
      const std::string root_b = TempRoot();
      Result<ObjectStore> b = ObjectStore::Open(root_b, "bench");
      if (!b.ok()) Die("store", b.status());
      std::string c = commit;
      rows.push_back(SyncOnce(repo, a->git_dir(), *b, &c));
      Print(("A->B " + std::to_string(i + 1)).c_str(), rows.back());
      fs::remove_all(root_b);
    }
    fs::remove_all(root_a);
  } else {
    std::fprintf(stderr, "sync_bench: unknown mode %s\n", mode.c_str());
    return 2;
  }
  PrintMedian(rows);
  return 0;
}
