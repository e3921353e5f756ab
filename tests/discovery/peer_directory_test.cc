// How the directory folds the backends' per-interface, per-family records into one peer per
// node id. Fed with the ServiceEvents a backend delivers; the network tests cover the backends.
#include <catch2/catch.hpp>

#include <net/if.h>
#include <sys/socket.h>

#include "discovery/peer_directory.h"

using namespace specswarm::discovery;

namespace {

ServiceEvent Resolved(const std::string& instance, int iface, int family, const std::string& address,
                      std::vector<std::string> txt, uint16_t port = 7000) {
  return ServiceEvent{ServiceEvent::Kind::kResolved, instance, iface, family, "ws1.local", address,
                      port, std::move(txt)};
}

ServiceEvent Removed(const std::string& instance, int iface, int family) {
  ServiceEvent e;
  e.kind = ServiceEvent::Kind::kRemoved;
  e.instance = instance;
  e.interface = iface;
  e.family = family;
  return e;
}

std::vector<std::string> Txt(const std::string& id, int idle = 2, int slots = 4) {
  return EncodeTxt(NodeAdvert{.proto = 1, .id = id, .ver = "0.1.0", .slots = slots, .idle = idle, .key = ""});
}

// "%name" of interface `index` on this machine, "" when it has none (the address stays bare).
std::string Scope(int index) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(static_cast<unsigned>(index), name) ? std::string("%") + name : "";
}

struct Recorder {
  std::vector<PeerEvent> events;
  std::vector<std::string> ignored;
  explicit Recorder(PeerDirectory& d) {
    d.set_listener([this](const PeerEvent& e) { events.push_back(e); });
    d.set_ignored_listener([this](const std::string& i, const std::string& why) {
      ignored.push_back(i + ": " + why);
    });
  }
  std::vector<PeerEvent::Kind> kinds() const {
    std::vector<PeerEvent::Kind> k;
    for (auto& e : events) k.push_back(e.kind);
    return k;
  }
};

using K = PeerEvent::Kind;

}  // namespace

TEST_CASE("a node seen on two interfaces and both families is one peer", "[discovery][directory]") {
  PeerDirectory dir;
  Recorder rec(dir);
  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n1")));
  dir.OnService(Resolved("a", 3, AF_INET, "192.168.1.5", Txt("n1")));
  dir.OnService(Resolved("a", 2, AF_INET6, "fe80::1", Txt("n1")));
  REQUIRE(dir.size() == 1);
  const Peer* p = dir.Find("n1");
  REQUIRE(p);
  CHECK(p->addresses == std::vector<std::string>{"10.0.0.5", "192.168.1.5", "fe80::1" + Scope(2)});
  CHECK(rec.kinds() == std::vector<K>{K::kAdded, K::kUpdated, K::kUpdated});

  // It stays while any record remains, and goes with the last one.
  dir.OnService(Removed("a", 2, AF_INET));
  dir.OnService(Removed("a", 2, AF_INET6));
  REQUIRE(dir.Find("n1"));
  CHECK(dir.Find("n1")->addresses == std::vector<std::string>{"192.168.1.5"});
  dir.OnService(Removed("a", 3, AF_INET));
  CHECK(dir.size() == 0);
  CHECK(rec.events.back().kind == K::kRemoved);
  CHECK(rec.events.back().peer.id == "n1");
}

TEST_CASE("a TXT change is an update, a repeated identical answer is nothing", "[discovery][directory]") {
  PeerDirectory dir;
  Recorder rec(dir);
  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n1", 4)));
  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n1", 4)));
  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n1", 1)));
  REQUIRE(rec.kinds() == std::vector<K>{K::kAdded, K::kUpdated});
  CHECK(rec.events.back().peer.advert->idle == 1);
}

TEST_CASE("a restarted node under a new instance name keeps its id and shows the new TXT",
          "[discovery][directory]") {
  PeerDirectory dir;
  Recorder rec(dir);
  dir.OnService(Resolved("node-100", 2, AF_INET, "10.0.0.5", Txt("n1", 4, 4)));
  dir.OnService(Resolved("node-200", 2, AF_INET, "10.0.0.5", Txt("n1", 8, 8)));
  dir.OnService(Removed("node-100", 2, AF_INET));  // the old instance's goodbye arrives late
  REQUIRE(dir.Find("n1"));
  CHECK(dir.Find("n1")->advert->slots == 8);
  CHECK(dir.Find("n1")->instance == "node-200");
  for (auto& e : rec.events) CHECK(e.kind != K::kRemoved);
}

TEST_CASE("malformed records are ignored once, with the reason, and never become peers",
          "[discovery][directory]") {
  PeerDirectory dir;
  Recorder rec(dir);
  dir.OnService(Resolved("bad", 2, AF_INET, "10.0.0.5", {"txtvers=1", "id=x"}));
  dir.OnService(Resolved("bad", 2, AF_INET, "10.0.0.5", {"txtvers=1", "id=x"}));
  CHECK(dir.size() == 0);
  REQUIRE(rec.ignored.size() == 1);
  CHECK_THAT(rec.ignored[0], Catch::StartsWith("bad: missing proto"));

  // A valid peer whose record turns bad stops being a peer.
  dir.OnService(Resolved("good", 2, AF_INET, "10.0.0.6", Txt("n2")));
  REQUIRE(dir.Find("n2"));
  dir.OnService(Resolved("good", 2, AF_INET, "10.0.0.6", {"txtvers=1", "id=n2", "slots=x"}));
  CHECK_FALSE(dir.Find("n2"));
  CHECK(rec.ignored.size() == 2);
}

TEST_CASE("our own advertisement is not a peer", "[discovery][directory]") {
  PeerDirectory dir;
  dir.set_self_id("me");
  dir.OnService(Resolved("mine", 2, AF_INET, "10.0.0.5", Txt("me")));
  dir.AddCandidate("10.0.0.5", 7000, PeerSource::kCache, "me");
  CHECK(dir.size() == 0);
}

TEST_CASE("seeds and cached peers give way to what mDNS sees", "[discovery][directory]") {
  PeerDirectory dir;
  Recorder rec(dir);
  dir.AddCandidate("10.0.0.5", 7000, PeerSource::kSeed);
  dir.AddCandidate("10.0.0.9", 7000, PeerSource::kCache, "n9");
  REQUIRE(dir.Find("seed:10.0.0.5:7000"));
  REQUIRE(dir.Find("n9")->source == PeerSource::kCache);

  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n5")));  // the seed's node
  dir.OnService(Resolved("b", 2, AF_INET, "10.0.0.9", Txt("n9")));  // the cached node
  CHECK_FALSE(dir.Find("seed:10.0.0.5:7000"));
  REQUIRE(dir.Find("n5"));
  REQUIRE(dir.Find("n9")->source == PeerSource::kMdns);
  CHECK(dir.size() == 2);
}

TEST_CASE("peers learned from other peers never override mDNS", "[discovery][directory]") {
  PeerDirectory dir;
  dir.OnService(Resolved("a", 2, AF_INET, "10.0.0.5", Txt("n5", 2)));
  Peer hearsay;
  hearsay.id = "n5";
  hearsay.port = 9999;
  dir.Learn(hearsay);
  CHECK(dir.Find("n5")->port == 7000);
  hearsay.id = "n6";
  dir.Learn(hearsay);
  REQUIRE(dir.Find("n6"));
  CHECK(dir.Find("n6")->source == PeerSource::kExchange);
  dir.Forget("n6");
  CHECK_FALSE(dir.Find("n6"));
}

TEST_CASE("a link-local IPv6 address carries its interface and comes after routable ones", "[discovery][directory]") {
  PeerDirectory dir;
  dir.OnService(Resolved("a", 1, AF_INET6, "fe80::5", Txt("n1")));
  dir.OnService(Resolved("a", 2, AF_INET6, "2001:db8::5", Txt("n1")));
  const Peer* p = dir.Find("n1");
  REQUIRE(p);
  // Interface 1 is the loopback on Linux.
  CHECK(p->addresses == std::vector<std::string>{"2001:db8::5", "fe80::5%lo"});
  CHECK(p->Endpoint() == "[2001:db8::5]:7000");
}
