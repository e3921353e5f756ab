// Seeds (`--peer`, the config's `peers:`) and the last-seen cache: the inputs that make
// discovery work where multicast does not reach.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "discovery/peer_cache.h"
#include "discovery/seed_list.h"

using namespace specswarm::discovery;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "specswarm-disc-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

Peer MdnsPeer(const std::string& id, const std::string& address, uint16_t port) {
  Peer p;
  p.key = p.id = id;
  p.host = id + ".local";
  p.addresses = {address};
  p.port = port;
  p.advert = NodeAdvert{.proto = 1, .id = id, .ver = "0.1.0", .slots = 4, .idle = 4, .key = ""};
  p.source = PeerSource::kMdns;
  return p;
}

}  // namespace

TEST_CASE("seeds are HOST:PORT or [IPv6]:PORT", "[discovery][seeds]") {
  auto name = ParseSeed("build01.office:7070");
  REQUIRE(name.ok());
  CHECK(*name == Seed{"build01.office", 7070});
  auto v6 = ParseSeed("[fe80::1]:7070");
  REQUIRE(v6.ok());
  CHECK(v6->host == "fe80::1");
  CHECK(v6->ToString() == "[fe80::1]:7070");
  for (const char* bad : {"build01", "build01:", ":7070", "h:0", "h:70000", "h:7x", "fe80::1:7070", "[fe80::1]"}) {
    INFO(bad);
    auto s = ParseSeed(bad);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Catch::Contains(bad) && Catch::Contains("HOST:PORT"));
  }
}

TEST_CASE("the config's peers: list gives seeds and names the file when wrong", "[discovery][seeds]") {
  TempDir dir;
  std::string path = (dir.path / "config.yml").string();
  auto none = LoadConfigSeeds(path);  // no file: no seeds, no error
  REQUIRE(none.ok());
  CHECK(none->empty());

  std::ofstream(path) << "peers:\n  - 10.1.2.3:7070\n  - build01:7071\nother: 1\n";
  auto seeds = LoadConfigSeeds(path);
  REQUIRE(seeds.ok());
  CHECK(*seeds == std::vector<Seed>{{"10.1.2.3", 7070}, {"build01", 7071}});

  std::ofstream(path, std::ios::trunc) << "peers: 10.1.2.3\n";
  auto scalar = LoadConfigSeeds(path);
  REQUIRE_FALSE(scalar.ok());
  CHECK_THAT(scalar.status().message(), Catch::Contains(path));

  std::ofstream(path, std::ios::trunc) << "peers: [10.1.2.3]\n";
  auto no_port = LoadConfigSeeds(path);
  REQUIRE_FALSE(no_port.ok());
  CHECK_THAT(no_port.status().message(), Catch::Contains("missing port"));
}

TEST_CASE("the cache keeps the mDNS peers seen, newest first, and forgets old ones",
          "[discovery][cache]") {
  TempDir dir;
  PeerCache cache((dir.path / "sub" / "peers.json").string());
  auto empty = cache.Load();
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  Peer seed;
  seed.key = "seed:10.0.0.9:7000";
  seed.host = "10.0.0.9";
  seed.port = 7000;
  seed.source = PeerSource::kSeed;  // not confirmed by mDNS: not cached
  REQUIRE(cache.Save({MdnsPeer("old", "10.0.0.1", 7001), seed}, 1000).ok());
  REQUIRE(cache.Save({MdnsPeer("new", "10.0.0.2", 7002)}, 2000).ok());
  auto loaded = cache.Load();
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 2);
  CHECK((*loaded)[0].id == "new");
  CHECK((*loaded)[0].addresses == std::vector<std::string>{"10.0.0.2"});
  CHECK((*loaded)[0].port == 7002);
  CHECK((*loaded)[1].id == "old");

  // A month later, only what was seen since remains.
  REQUIRE(cache.Save({MdnsPeer("new", "10.0.0.2", 7002)}, 2000 + PeerCache::kMaxAgeSeconds + 1).ok());
  loaded = cache.Load();
  REQUIRE(loaded->size() == 1);
  CHECK((*loaded)[0].id == "new");
}

TEST_CASE("a corrupt cache is reported, not fatal, and rewritten on the next save",
          "[discovery][cache]") {
  TempDir dir;
  std::string path = (dir.path / "peers.json").string();
  std::ofstream(path) << "{ not json";
  PeerCache cache(path);
  auto loaded = cache.Load();
  REQUIRE_FALSE(loaded.ok());
  CHECK_THAT(loaded.status().message(), Catch::Contains(path));
  REQUIRE(cache.Save({MdnsPeer("n1", "10.0.0.1", 7001)}, 1000).ok());
  loaded = cache.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->size() == 1);
}
