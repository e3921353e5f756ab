// The TXT record is a public format (third parties publish it with avahi-publish), so its
// parser is pinned down here field by field.
#include <catch2/catch.hpp>

#include "discovery/txt_record.h"

using namespace specswarm::discovery;

namespace {

const NodeAdvert kNode{.proto = 1, .id = "ws12-a1b2", .ver = "0.1.0", .slots = 8, .idle = 3, .key = ""};

std::vector<std::string> With(std::vector<std::string> items, const std::string& key,
                              const std::string& item) {
  for (auto& i : items)
    if (i.rfind(key + "=", 0) == 0) i = item;
  return items;
}

std::vector<std::string> Without(std::vector<std::string> items, const std::string& key) {
  std::erase_if(items, [&](const std::string& i) { return i.rfind(key + "=", 0) == 0; });
  return items;
}

}  // namespace

TEST_CASE("a node's advert survives encoding and parsing", "[discovery][txt]") {
  std::vector<std::string> txt = EncodeTxt(kNode);
  CHECK(txt == std::vector<std::string>{"txtvers=1", "proto=1", "id=ws12-a1b2", "ver=0.1.0",
                                        "slots=8", "idle=3", "key="});
  auto parsed = ParseTxt(txt);
  REQUIRE(parsed.ok());
  CHECK(*parsed == kNode);
}

TEST_CASE("a swarm fingerprint is carried as is, never a key", "[discovery][txt]") {
  NodeAdvert node = kNode;
  node.key = "1a2b-3c4d-5e6f-7a8b-9c0d";
  auto parsed = ParseTxt(EncodeTxt(node));
  REQUIRE(parsed.ok());
  CHECK(parsed->key == node.key);
}

TEST_CASE("each missing field is named in the reason", "[discovery][txt]") {
  for (const char* field : {"txtvers", "proto", "id", "ver", "slots", "idle", "key"}) {
    auto parsed = ParseTxt(Without(EncodeTxt(kNode), field));
    INFO(field);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.status().message(), Catch::Contains(std::string("missing ") + field));
  }
}

TEST_CASE("malformed values are refused with a reason", "[discovery][txt]") {
  struct Case { const char* key; const char* item; const char* reason; };
  for (Case c : {Case{"slots", "slots=four", "slots"}, Case{"slots", "slots=-1", "slots"},
                 Case{"slots", "slots=99999", "slots"}, Case{"idle", "idle=9", "idle"},
                 Case{"idle", "idle=2x", "idle"}, Case{"proto", "proto=", "proto"},
                 Case{"proto", "proto=0", "proto"}, Case{"id", "id=", "id"},
                 Case{"id", "id=has space", "id"}, Case{"key", "key=short", "key"},
                 Case{"key", "key=1A2B-3C4D-5E6F-7A8B-9C0D", "key"},
                 Case{"key", "key=rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "key"},
                 Case{"txtvers", "txtvers=2", "txtvers"}, Case{"ver", "ver=", "ver"}}) {
    auto parsed = ParseTxt(With(EncodeTxt(kNode), c.key, c.item));
    INFO(c.item);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.status().message(), Catch::Contains(c.reason));
  }
}

TEST_CASE("a key without '=' counts as missing, a repeated key as broken", "[discovery][txt]") {
  CHECK_FALSE(ParseTxt(With(EncodeTxt(kNode), "idle", "idle")).ok());
  auto twice = EncodeTxt(kNode);
  twice.push_back("idle=1");
  auto parsed = ParseTxt(twice);
  REQUIRE_FALSE(parsed.ok());
  CHECK_THAT(parsed.status().message(), Catch::Contains("twice"));
}

TEST_CASE("unknown keys from newer nodes are ignored, key case is not significant",
          "[discovery][txt]") {
  auto txt = EncodeTxt(kNode);
  txt.push_back("future=yes");
  txt[5] = "IDLE=3";
  auto parsed = ParseTxt(txt);
  REQUIRE(parsed.ok());
  CHECK(parsed->idle == 3);
}

TEST_CASE("Validate refuses what peers would refuse", "[discovery][txt]") {
  NodeAdvert busy = kNode;
  busy.idle = busy.slots + 1;
  CHECK_FALSE(Validate(busy).ok());
  CHECK(Validate(kNode).ok());
}

TEST_CASE("the DNS-SD wire form round-trips and refuses truncation", "[discovery][txt]") {
  auto items = EncodeTxt(kNode);
  std::string wire = EncodeTxtWire(items);
  CHECK(wire[0] == 9);  // "txtvers=1"
  auto back = DecodeTxtWire(wire);
  REQUIRE(back.ok());
  CHECK(*back == items);
  CHECK_FALSE(DecodeTxtWire(wire.substr(0, wire.size() - 1)).ok());
  auto empty = DecodeTxtWire(std::string(1, '\0'));  // RFC 6763: an empty TXT is one zero byte
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}
