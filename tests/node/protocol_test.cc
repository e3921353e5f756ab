#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <variant>

#include "node/protocol.h"

using namespace specswarm;
using namespace specswarm::node;
using exec::ExampleStatus;
using exec::UnitOutcome;

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Bytes written by hand, for frames Encode would never make.
std::string Bytes(const std::function<void(Packer&)>& write) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  write(packer);
  return std::string(buffer.data(), buffer.size());
}

// [kind, body] with the body written by `body`.
std::string Frame(uint32_t kind, const std::function<void(Packer&)>& body) {
  return Bytes([&](Packer& p) {
    p.pack_array(2);
    p.pack(kind);
    body(p);
  });
}

template <typename T>
T RoundTrip(const T& message) {
  std::string bytes = Encode(Message(message));
  Result<Message> decoded = Decode(bytes);
  INFO(decoded.status().message());
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<T>(*decoded));
  return std::get<T>(*decoded);
}

void CheckSame(const exec::ExampleResult& a, const exec::ExampleResult& b) {
  CHECK(a.id == b.id);
  CHECK(a.description == b.description);
  CHECK(a.full_description == b.full_description);
  CHECK(a.status == b.status);
  CHECK(a.file_path == b.file_path);
  CHECK(a.line_number == b.line_number);
  CHECK(a.run_time == b.run_time);
  CHECK(a.pending_message == b.pending_message);
  REQUIRE(a.exception.has_value() == b.exception.has_value());
  if (a.exception) {
    CHECK(a.exception->class_name == b.exception->class_name);
    CHECK(a.exception->message == b.exception->message);
    CHECK(a.exception->backtrace == b.exception->backtrace);
  }
  CHECK(a.block == b.block);
  CHECK(a.rerun == b.rerun);
  CHECK(a.slot == b.slot);
  CHECK(a.host == b.host);
}

void CheckSame(const exec::UnitResult& a, const exec::UnitResult& b) {
  CHECK(a.unit_id == b.unit_id);
  CHECK(a.file == b.file);
  CHECK(a.ids == b.ids);
  CHECK(a.slot == b.slot);
  CHECK(a.outcome == b.outcome);
  REQUIRE(a.examples.size() == b.examples.size());
  for (size_t i = 0; i < a.examples.size(); ++i) CheckSame(a.examples[i], b.examples[i]);
  REQUIRE(a.groups.size() == b.groups.size());
  for (size_t i = 0; i < a.groups.size(); ++i) {
    CHECK(a.groups[i].id == b.groups[i].id);
    CHECK(a.groups[i].description == b.groups[i].description);
    CHECK(a.groups[i].has_context_hooks == b.groups[i].has_context_hooks);
  }
  CHECK(a.outline == b.outline);
  CHECK(a.messages == b.messages);
  CHECK(a.errors_outside_examples == b.errors_outside_examples);
  CHECK(a.exit_code == b.exit_code);
  CHECK(a.signal == b.signal);
  CHECK(a.output == b.output);
  CHECK(a.problem == b.problem);
  CHECK(a.wall_time == b.wall_time);
  CHECK(a.host == b.host);
}

exec::ExampleResult FailedExample() {
  exec::ExampleResult e;
  e.id = "./spec/a_spec.rb[1:2]";
  e.description = "adds";
  e.full_description = "Calc adds";
  e.status = ExampleStatus::kFailed;
  e.file_path = "./spec/a_spec.rb";
  e.line_number = 12;
  e.run_time = 0.25;
  e.exception = exec::ExceptionInfo{"RSpec::Expectations::ExpectationNotMetError", "expected 2\ngot 3",
                                    {"./spec/a_spec.rb:13:in `block (2 levels)'", "rspec-core/lib/x.rb:1"}};
  e.block = {"  1) Calc adds", "     Failure/Error: expect(1 + 1).to eq 3"};
  e.rerun = "./spec/a_spec.rb:12";
  e.slot = 3;
  e.host = "peer-b";
  return e;
}

exec::ExampleResult PendingExample() {
  exec::ExampleResult e;
  e.id = "./spec/a_spec.rb[1:3]";
  e.description = "later";
  e.full_description = "Calc later";
  e.status = ExampleStatus::kPending;
  e.file_path = "./spec/a_spec.rb";
  e.line_number = 20;
  e.run_time = 0;
  e.pending_message = "Not yet implemented";
  e.slot = 3;
  return e;
}

exec::ExampleResult PassedExample() {
  exec::ExampleResult e;
  e.id = "./spec/a_spec.rb[1:1]";
  e.description = "works";
  e.full_description = "Calc works";
  e.status = ExampleStatus::kPassed;
  e.file_path = "./spec/a_spec.rb";
  e.line_number = 5;
  e.run_time = 1e-3;
  e.slot = 3;
  e.host = "peer-b";
  return e;
}

exec::UnitResult FullUnit() {
  exec::UnitResult u;
  u.unit_id = 42;
  u.file = "spec/a_spec.rb";
  u.ids = {"./spec/a_spec.rb[1:1]", "./spec/a_spec.rb[1:2]", "./spec/a_spec.rb[1:3]"};
  u.slot = 3;
  u.outcome = UnitOutcome::kCrashed;
  u.examples = {PassedExample(), FailedExample(), PendingExample()};
  u.groups = {{"./spec/a_spec.rb[1]", "Calc", true}, {"./spec/a_spec.rb[1:4]", "nested", false}};
  u.outline = {0, ~0, ~1, 1, ~2};
  u.messages = {"An error occurred while loading ./spec/b_spec.rb"};
  u.errors_outside_examples = 2;
  u.exit_code = -1;
  u.signal = 9;
  u.output = std::string("out\0put\xff", 8);
  u.problem = "killed by signal 9";
  u.wall_time = 3.5;
  u.host = "peer-b";
  return u;
}

template <typename T>
uint32_t KindOf() {
  return static_cast<uint32_t>(Message(T{}).index());
}

// Navigates `path` (indexes through nested arrays) from `at`; REQUIREs each step exists.
msgpack::object* Walk(msgpack::object* at, const std::vector<uint32_t>& path) {
  for (uint32_t i : path) {
    REQUIRE(at->type == msgpack::type::ARRAY);
    REQUIRE(i < at->via.array.size);
    at = &at->via.array.ptr[i];
  }
  return at;
}

// `message` encoded, with the body's field at `path` replaced by what `write` packs. Starting
// from Encode keeps these tests right when a message gains a field.
std::string Patched(const Message& message, const std::vector<uint32_t>& path,
                    const std::function<void(Packer&)>& write) {
  const std::string bytes = Encode(message);
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  const std::string replacement = Bytes(write);
  msgpack::object_handle with = msgpack::unpack(replacement.data(), replacement.size());
  msgpack::object root = handle.get();
  *Walk(&root.via.array.ptr[1], path) = with.get();
  return Bytes([&](Packer& p) { p.pack(root); });
}

// `message` encoded, with the array at `path` (empty: the body) cut to, or padded with nils to, `size`.
std::string Resized(const Message& message, const std::vector<uint32_t>& path, uint32_t size) {
  const std::string bytes = Encode(message);
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  msgpack::object root = handle.get();
  msgpack::object* array = Walk(&root.via.array.ptr[1], path);
  REQUIRE(array->type == msgpack::type::ARRAY);
  auto* items = static_cast<msgpack::object*>(
      handle.zone()->allocate_align(sizeof(msgpack::object) * (size + 1), MSGPACK_ZONE_ALIGNOF(msgpack::object)));
  for (uint32_t i = 0; i < size; ++i) items[i] = i < array->via.array.size ? array->via.array.ptr[i] : msgpack::object();
  array->via.array.ptr = items;
  array->via.array.size = size;
  return Bytes([&](Packer& p) { p.pack(root); });
}

// How many fields Encode writes for the record at `path` (empty: the body) of `message`.
uint32_t FieldCount(const Message& message, const std::vector<uint32_t>& path = {}) {
  const std::string bytes = Encode(message);
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  msgpack::object root = handle.get();
  msgpack::object* record = Walk(&root.via.array.ptr[1], path);
  REQUIRE(record->type == msgpack::type::ARRAY);
  return record->via.array.size;
}

std::string EncodedResult() { return Encode(ResultMsg{"run-1", 7, FullUnit()}); }

// Whatever Decode accepts must encode again into bytes Decode accepts as the same kind.
void CheckConsistentIfAccepted(const std::string& bytes) {
  Result<Message> decoded = Decode(bytes);
  if (!decoded.ok()) {
    CHECK_FALSE(decoded.status().message().empty());
    return;
  }
  Result<Message> again = Decode(Encode(*decoded));
  REQUIRE(again.ok());
  CHECK(again->index() == decoded->index());
}

}  // namespace

TEST_CASE("protocol: Hello and Offer survive a round trip") {
  HelloMsg hello;
  hello.node_id = "node-7f";
  hello.host = "build-3.local";
  hello.version = "0.4.1";
  hello.slots = 8;
  hello.idle = 5;
  hello.why_not = "busy with run r-9";
  HelloMsg h = RoundTrip(hello);
  CHECK(h.proto == kProtocolVersion);
  CHECK(h.node_id == hello.node_id);
  CHECK(h.host == hello.host);
  CHECK(h.version == hello.version);
  CHECK(h.slots == 8);
  CHECK(h.idle == 5);
  CHECK(h.why_not == hello.why_not);

  OfferMsg offer;
  offer.run_id = "r-1";
  offer.commit = std::string(40, 'a');
  offer.repo_key = "repo-key";
  offer.project_subdir = "app";
  offer.coordinator_host = "laptop";
  offer.ruby_version = "3.3.0";
  offer.slots_wanted = 16;
  offer.rspec_args = {"--tag", "~slow"};
  offer.targets = {"spec/a_spec.rb:12", "spec/b_spec.rb"};
  offer.preload = {"config/environment"};
  offer.fork_isolation = true;
  offer.bundler = false;
  offer.first_is_1 = true;
  offer.shared_tmp = true;
  offer.unit_timeout = 600.5;
  offer.boot_timeout = 120;
  OfferMsg o = RoundTrip(offer);
  CHECK(o.run_id == offer.run_id);
  CHECK(o.commit == offer.commit);
  CHECK(o.repo_key == offer.repo_key);
  CHECK(o.project_subdir == offer.project_subdir);
  CHECK(o.coordinator_host == offer.coordinator_host);
  CHECK(o.ruby_version == offer.ruby_version);
  CHECK(o.slots_wanted == 16);
  CHECK(o.rspec_args == offer.rspec_args);
  CHECK(o.targets == offer.targets);
  CHECK(o.preload == offer.preload);
  CHECK(o.fork_isolation);
  CHECK_FALSE(o.bundler);
  CHECK(o.first_is_1);
  CHECK(o.shared_tmp);
  CHECK(o.unit_timeout == 600.5);
  CHECK(o.boot_timeout == 120);

  // The defaults (empty lists, false/true flags) survive as well.
  OfferMsg plain = RoundTrip(OfferMsg{});
  CHECK(plain.rspec_args.empty());
  CHECK(plain.bundler);
  CHECK_FALSE(plain.fork_isolation);
}

TEST_CASE("protocol: the pack and handshake messages survive a round trip") {
  AcceptMsg accept = RoundTrip(AcceptMsg{"r-1", 4, {std::string(40, 'b'), std::string(40, 'c')}});
  CHECK(accept.run_id == "r-1");
  CHECK(accept.slots == 4);
  CHECK(accept.haves == std::vector<std::string>{std::string(40, 'b'), std::string(40, 'c')});

  DeclineMsg decline = RoundTrip(DeclineMsg{"r-1", "ruby 3.1 is not installed"});
  CHECK(decline.run_id == "r-1");
  CHECK(decline.why == "ruby 3.1 is not installed");

  const uint64_t big = (uint64_t{1} << 40) + 3;
  PackInfoMsg info = RoundTrip(PackInfoMsg{"r-1", std::string(40, 'd'), "pack-1", big, 4000000000u});
  CHECK(info.run_id == "r-1");
  CHECK(info.commit == std::string(40, 'd'));
  CHECK(info.pack_id == "pack-1");
  CHECK(info.size == big);
  CHECK(info.objects == 4000000000u);

  ChunkRequestMsg request = RoundTrip(ChunkRequestMsg{"r-1", "pack-1", big});
  CHECK(request.run_id == "r-1");
  CHECK(request.pack_id == "pack-1");
  CHECK(request.offset == big);

  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  PackChunkMsg chunk = RoundTrip(PackChunkMsg{"r-1", "pack-1", 1u << 20, binary});
  CHECK(chunk.run_id == "r-1");
  CHECK(chunk.pack_id == "pack-1");
  CHECK(chunk.offset == 1u << 20);
  CHECK(chunk.bytes == binary);

  ReadyMsg ready = RoundTrip(ReadyMsg{"r-1", 6, 12.75});
  CHECK(ready.run_id == "r-1");
  CHECK(ready.slots == 6);
  CHECK(ready.prepare_time == 12.75);

  FailedMsg failed = RoundTrip(FailedMsg{"r-1", "bundle install failed"});
  CHECK(failed.run_id == "r-1");
  CHECK(failed.why == "bundle install failed");

  TakeMsg take = RoundTrip(TakeMsg{"r-1", 5});
  CHECK(take.run_id == "r-1");
  CHECK(take.slot == 5);
}

TEST_CASE("protocol: Lease, Example, Result and SuiteResult survive a round trip") {
  LeaseMsg lease =
      RoundTrip(LeaseMsg{"r-1", 17, 2, 33, "spec/big_spec.rb", {"./spec/big_spec.rb[1:1]"}, {"./spec/big_spec.rb[2]"}});
  CHECK(lease.run_id == "r-1");
  CHECK(lease.lease_id == 17);
  CHECK(lease.slot == 2);
  CHECK(lease.unit_id == 33);
  CHECK(lease.file == "spec/big_spec.rb");
  CHECK(lease.ids == std::vector<std::string>{"./spec/big_spec.rb[1:1]"});
  CHECK(lease.except_ids == std::vector<std::string>{"./spec/big_spec.rb[2]"});

  SECTION("an example with an exception and no pending message") {
    ExampleMsg example = RoundTrip(ExampleMsg{"r-1", 17, FailedExample()});
    CHECK(example.run_id == "r-1");
    CHECK(example.lease_id == 17);
    CHECK_FALSE(example.example.pending_message.has_value());
    CHECK(example.example.exception.has_value());
    CheckSame(example.example, FailedExample());
  }
  SECTION("a pending example with a pending message and no exception") {
    ExampleMsg example = RoundTrip(ExampleMsg{"r-1", 17, PendingExample()});
    CHECK(example.example.pending_message == std::optional<std::string>("Not yet implemented"));
    CHECK_FALSE(example.example.exception.has_value());
    CheckSame(example.example, PendingExample());
  }
  SECTION("a pending message that is set but empty stays set") {
    exec::ExampleResult e = PendingExample();
    e.pending_message = "";
    ExampleMsg example = RoundTrip(ExampleMsg{"r-1", 17, e});
    CHECK(example.example.pending_message == std::optional<std::string>(""));
  }
  SECTION("a unit result with examples, groups, outline and a signal") {
    ResultMsg result = RoundTrip(ResultMsg{"r-1", 17, FullUnit()});
    CHECK(result.run_id == "r-1");
    CHECK(result.lease_id == 17);
    CHECK(result.unit.signal == std::optional<int>(9));
    CHECK(result.unit.outline == std::vector<int>{0, -1, -2, 1, -3});
    CheckSame(result.unit, FullUnit());
  }
  SECTION("a unit result without a signal keeps it unset") {
    exec::UnitResult unit = FullUnit();
    unit.signal.reset();
    unit.outcome = UnitOutcome::kCompleted;
    ResultMsg result = RoundTrip(ResultMsg{"r-1", 18, unit});
    CHECK_FALSE(result.unit.signal.has_value());
    CheckSame(result.unit, unit);
  }
  SECTION("every unit outcome survives") {
    for (UnitOutcome outcome : {UnitOutcome::kCompleted, UnitOutcome::kCrashed, UnitOutcome::kTimedOut,
                                UnitOutcome::kWorkerLost, UnitOutcome::kNotRun}) {
      exec::UnitResult unit;
      unit.outcome = outcome;
      CHECK(RoundTrip(ResultMsg{"r-1", 1, unit}).unit.outcome == outcome);
    }
  }
  SECTION("an after(:suite) error survives as a SuiteResult") {
    exec::UnitResult unit;
    unit.file = "";
    unit.messages = {"An error occurred in an `after(:suite)` hook."};
    unit.errors_outside_examples = 1;
    unit.slot = 4;
    unit.host = "peer-c";
    SuiteResultMsg suite = RoundTrip(SuiteResultMsg{"r-1", unit});
    CHECK(suite.run_id == "r-1");
    CheckSame(suite.unit, unit);
  }
}

TEST_CASE("protocol: doubles survive a round trip, whole ones too") {
  // msgpack-c writes a double with no fraction as an integer: Decode must take it back as a double.
  for (double value : {0.0, 1.0, -2.0, 120.0, 1e18, -1e18, 0.1, -3.75, 1e300, 5e-324}) {
    INFO("value " << value);
    CHECK(RoundTrip(ReadyMsg{"r", 1, value}).prepare_time == value);
  }
  CHECK(std::isinf(RoundTrip(ReadyMsg{"r", 1, HUGE_VAL}).prepare_time));
  CHECK(std::isnan(RoundTrip(ReadyMsg{"r", 1, std::nan("")}).prepare_time));
}

TEST_CASE("protocol: the small control messages survive a round trip") {
  CHECK(RoundTrip(FinishMsg{"r-1"}).run_id == "r-1");
  CHECK(RoundTrip(DoneMsg{"r-2"}).run_id == "r-2");
  CHECK(RoundTrip(HeartbeatMsg{"r-3"}).run_id == "r-3");
  CHECK(RoundTrip(HeartbeatMsg{""}).run_id.empty());

  CancelMsg cancel = RoundTrip(CancelMsg{"r-1", "interrupted"});
  CHECK(cancel.run_id == "r-1");
  CHECK(cancel.why == "interrupted");

  ReturnedMsg returned = RoundTrip(ReturnedMsg{"r-1", {3, 9, 12, -1}, "shutting down"});
  CHECK(returned.run_id == "r-1");
  CHECK(returned.lease_ids == std::vector<int>{3, 9, 12, -1});
  CHECK(returned.why == "shutting down");

  RoundTrip(StatusQueryMsg{});

  std::string json = R"({"runs":[{"id":"r-1","slots":4}],"ünïcode":"\u00e9"})";
  CHECK(RoundTrip(StatusReplyMsg{json}).json == json);
}

TEST_CASE("protocol: every message kind decodes to the kind it was encoded as") {
  // One default-constructed message of each alternative, so a kind added later is covered too.
  [&]<size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          Message message{std::in_place_index<I>};
          Result<Message> decoded = Decode(Encode(message));
          INFO("kind " << I << " " << MessageName(message));
          REQUIRE(decoded.ok());
          CHECK(decoded->index() == I);
          CHECK(std::string(MessageName(*decoded)) == MessageName(message));
        }(),
        ...);
  }(std::make_index_sequence<std::variant_size_v<Message>>());
}

TEST_CASE("protocol: a frame is a kind and a body, and a Hello body starts with proto, id and host") {
  // The layout other versions rely on to say why they will not work together.
  HelloMsg hello;
  hello.node_id = "node-1";
  hello.host = "host-1";
  const std::string bytes = Encode(Message(hello));
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  const msgpack::object& root = handle.get();
  REQUIRE(root.type == msgpack::type::ARRAY);
  REQUIRE(root.via.array.size == 2);
  CHECK(root.via.array.ptr[0].as<uint32_t>() == 0);
  const msgpack::object& body = root.via.array.ptr[1];
  REQUIRE(body.type == msgpack::type::ARRAY);
  REQUIRE(body.via.array.size >= 3);
  CHECK(body.via.array.ptr[0].as<int>() == kProtocolVersion);
  CHECK(body.via.array.ptr[1].as<std::string>() == "node-1");
  CHECK(body.via.array.ptr[2].as<std::string>() == "host-1");

  CHECK(Encode(Message(StatusQueryMsg{})) == Frame(KindOf<StatusQueryMsg>(), [](Packer& p) { p.pack_array(0); }));
  CHECK(Encode(Message(FinishMsg{"r"})) == Frame(KindOf<FinishMsg>(), [](Packer& p) {
          p.pack_array(1);
          p.pack(std::string("r"));
        }));
}

TEST_CASE("protocol: the test helpers repack an encoded message byte for byte") {
  // Patched and Resized re-pack what msgpack read: that alone must change nothing.
  const std::string valid = EncodedResult();
  msgpack::object_handle handle = msgpack::unpack(valid.data(), valid.size());
  CHECK(Bytes([&](Packer& p) { p.pack(handle.get()); }) == valid);
  CHECK(Resized(ResultMsg{"run-1", 7, FullUnit()}, {}, 3) == valid);
}

TEST_CASE("protocol: a Hello of another version decodes to its version, id and host") {
  SECTION("a newer Hello with more fields") {
    std::string bytes = Frame(0, [](Packer& p) {
      p.pack_array(10);
      p.pack(2);
      p.pack(std::string("node-9"));
      p.pack(std::string("far.example"));
      p.pack(std::string("9.0.0"));
      p.pack(32);
      p.pack(32);
      p.pack(std::string(""));
      p.pack(std::string("a field version 1 does not know"));
      p.pack(true);
      p.pack_array(0);
    });
    Result<Message> decoded = Decode(bytes);
    INFO(decoded.status().message());
    REQUIRE(decoded.ok());
    REQUIRE(std::holds_alternative<HelloMsg>(*decoded));
    const HelloMsg& hello = std::get<HelloMsg>(*decoded);
    CHECK(hello.proto == 2);
    CHECK(hello.node_id == "node-9");
    CHECK(hello.host == "far.example");
  }
  SECTION("a Hello with exactly proto, id and host") {
    std::string bytes = Frame(0, [](Packer& p) {
      p.pack_array(3);
      p.pack(2);
      p.pack(std::string("id"));
      p.pack(std::string("host"));
    });
    Result<Message> decoded = Decode(bytes);
    REQUIRE(decoded.ok());
    REQUIRE(std::holds_alternative<HelloMsg>(*decoded));
    CHECK(std::get<HelloMsg>(*decoded).proto == 2);
    CHECK(std::get<HelloMsg>(*decoded).node_id == "id");
    CHECK(std::get<HelloMsg>(*decoded).host == "host");
  }
  SECTION("an older Hello with the version alone") {
    std::string bytes = Frame(0, [](Packer& p) {
      p.pack_array(1);
      p.pack(0);
    });
    Result<Message> decoded = Decode(bytes);
    REQUIRE(decoded.ok());
    REQUIRE(std::holds_alternative<HelloMsg>(*decoded));
    CHECK(std::get<HelloMsg>(*decoded).proto == 0);
    CHECK(std::get<HelloMsg>(*decoded).node_id.empty());
  }
  SECTION("a Hello of another version whose id is not a string still says its version") {
    std::string bytes = Frame(0, [](Packer& p) {
      p.pack_array(3);
      p.pack(3);
      p.pack(17);
      p.pack(std::string("host"));
    });
    Result<Message> decoded = Decode(bytes);
    REQUIRE(decoded.ok());
    REQUIRE(std::holds_alternative<HelloMsg>(*decoded));
    CHECK(std::get<HelloMsg>(*decoded).proto == 3);
  }
  SECTION("a Hello of this version must have exactly this version's fields") {
    HelloMsg hello;
    hello.node_id = "id";
    const uint32_t n = FieldCount(hello);
    CHECK(Decode(Resized(hello, {}, n)).ok());
    CHECK_FALSE(Decode(Resized(hello, {}, n + 1)).ok());
    CHECK_FALSE(Decode(Resized(hello, {}, n - 1)).ok());
    CHECK_FALSE(Decode(Resized(hello, {}, 3)).ok());
  }
  SECTION("a Hello whose version is not a number is an error") {
    std::string bytes = Frame(0, [](Packer& p) {
      p.pack_array(3);
      p.pack(std::string("2"));
      p.pack(std::string("id"));
      p.pack(std::string("host"));
    });
    CHECK_FALSE(Decode(bytes).ok());
    CHECK_FALSE(Decode(Patched(HelloMsg{}, {0}, [](Packer& p) { p.pack_nil(); })).ok());
    CHECK_FALSE(Decode(Patched(HelloMsg{}, {0}, [](Packer& p) { p.pack(std::numeric_limits<uint64_t>::max()); })).ok());
  }
}

TEST_CASE("protocol: empty and truncated input is an error") {
  CHECK_FALSE(Decode(std::string_view()).ok());
  CHECK_FALSE(Decode(std::string_view("", 0)).ok());
  Result<Message> empty = Decode(std::string());
  REQUIRE_FALSE(empty.ok());
  CHECK_FALSE(empty.status().message().empty());

  const std::string valid = EncodedResult();
  REQUIRE(Decode(valid).ok());
  int accepted = 0;
  for (size_t n = 0; n < valid.size(); ++n) {
    if (Decode(std::string_view(valid.data(), n)).ok()) ++accepted;
  }
  CHECK(accepted == 0);
}

TEST_CASE("protocol: input that is not a kind and body pair is an error") {
  const uint32_t finish = KindOf<FinishMsg>();
  CHECK_FALSE(Decode(Bytes([](Packer& p) { p.pack(12); })).ok());
  CHECK_FALSE(Decode(Bytes([](Packer& p) { p.pack(std::string("hello")); })).ok());
  CHECK_FALSE(Decode(Bytes([](Packer& p) { p.pack_nil(); })).ok());
  CHECK_FALSE(Decode(Bytes([](Packer& p) { p.pack_map(0); })).ok());
  CHECK_FALSE(Decode(Bytes([&](Packer& p) {
                p.pack_map(1);
                p.pack(finish);
                p.pack_array(1);
                p.pack(std::string("r"));
              })).ok());
  CHECK_FALSE(Decode(Bytes([&](Packer& p) {
                p.pack_array(1);
                p.pack(finish);
              })).ok());
  CHECK_FALSE(Decode(Bytes([&](Packer& p) {
                p.pack_array(3);
                p.pack(finish);
                p.pack_array(1);
                p.pack(std::string("r"));
                p.pack(0);
              })).ok());
  // The kind must be a number, the body an array.
  CHECK_FALSE(Decode(Bytes([](Packer& p) {
                p.pack_array(2);
                p.pack(std::string("Finish"));
                p.pack_array(1);
                p.pack(std::string("r"));
              })).ok());
  CHECK_FALSE(Decode(Frame(finish, [](Packer& p) { p.pack(std::string("r")); })).ok());
  CHECK_FALSE(Decode(Frame(KindOf<StatusQueryMsg>(), [](Packer& p) { p.pack_nil(); })).ok());
}

TEST_CASE("protocol: an unknown message kind is an error") {
  const auto body = [](Packer& p) { p.pack_array(0); };
  const uint32_t kinds = static_cast<uint32_t>(std::variant_size_v<Message>);
  CHECK(Decode(Encode(Message(std::in_place_index<std::variant_size_v<Message> - 1>))).ok());
  for (uint32_t kind : {kinds, kinds + 1, 127u, 1000u, std::numeric_limits<uint32_t>::max()}) {
    INFO("kind " << kind);
    Result<Message> decoded = Decode(Frame(kind, body));
    REQUIRE_FALSE(decoded.ok());
    CHECK_THAT(decoded.status().message(), Catch::Contains("kind"));
  }
  CHECK_FALSE(Decode(Bytes([](Packer& p) {
                p.pack_array(2);
                p.pack(-1);
                p.pack_array(0);
              })).ok());
  CHECK_FALSE(Decode(Bytes([](Packer& p) {
                p.pack_array(2);
                p.pack(uint64_t{1} << 32);  // kind 0 (Hello) once truncated to 32 bits
                p.pack_array(1);
                p.pack(2);
              })).ok());
}

TEST_CASE("protocol: a body with the wrong number of fields is an error") {
  const DeclineMsg decline{"r", "why"};
  const uint32_t n = FieldCount(decline);
  CHECK(Decode(Resized(decline, {}, n)).ok());
  CHECK_FALSE(Decode(Resized(decline, {}, n - 1)).ok());
  CHECK_FALSE(Decode(Resized(decline, {}, n + 1)).ok());
  CHECK_FALSE(Decode(Resized(decline, {}, 0)).ok());

  // Every kind refuses a field too many or too few.
  [&]<size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          Message message{std::in_place_index<I>};
          const uint32_t fields = FieldCount(message);
          INFO(MessageName(message) << " of " << fields << " fields");
          CHECK_FALSE(Decode(Resized(message, {}, fields + 1)).ok());
          if (fields > 0) CHECK_FALSE(Decode(Resized(message, {}, fields - 1)).ok());
        }(),
        ...);
  }(std::make_index_sequence<std::variant_size_v<Message>>());

  // A nested record: the ExceptionInfo (class_name, message, backtrace) inside an Example.
  const ExampleMsg example{"r", 1, FailedExample()};
  const uint32_t exception_fields = FieldCount(example, {2, 8});
  CHECK(Decode(Resized(example, {2, 8}, exception_fields)).ok());
  CHECK_FALSE(Decode(Resized(example, {2, 8}, exception_fields - 1)).ok());
  CHECK_FALSE(Decode(Resized(example, {2, 8}, exception_fields + 1)).ok());
  // ... and the Example itself, one field short.
  const uint32_t example_fields = FieldCount(example, {2});
  CHECK(Decode(Resized(example, {2}, example_fields)).ok());
  CHECK_FALSE(Decode(Resized(example, {2}, example_fields - 1)).ok());
}

namespace {
// ExampleMsg body: [run_id, lease_id, example]; example: [id, description, full_description,
// status, file_path, line_number, run_time, pending_message, exception, ...].
const std::vector<uint32_t> kExampleStatus = {2, 3};
const std::vector<uint32_t> kExamplePending = {2, 7};
// ResultMsg body: [run_id, lease_id, unit]; unit: [unit_id, file, ids, slot, outcome, examples,
// groups, outline, messages, errors_outside_examples, exit_code, signal, ...].
const std::vector<uint32_t> kUnitOutcome = {2, 4};
const std::vector<uint32_t> kUnitSignal = {2, 11};
const std::vector<uint32_t> kFirstExampleStatus = {2, 5, 0, 3};
}  // namespace

TEST_CASE("protocol: an enum value out of range is an error") {
  const ExampleMsg example{"r", 1, PassedExample()};
  for (int status : {0, 1, 2}) {
    Result<Message> decoded = Decode(Patched(example, kExampleStatus, [status](Packer& p) { p.pack(status); }));
    REQUIRE(decoded.ok());
    CHECK(std::get<ExampleMsg>(*decoded).example.status == static_cast<ExampleStatus>(status));
  }
  for (int status : {3, 7, 255, -1}) {
    INFO("status " << status);
    CHECK_FALSE(Decode(Patched(example, kExampleStatus, [status](Packer& p) { p.pack(status); })).ok());
  }
  CHECK_FALSE(Decode(Patched(example, kExampleStatus, [](Packer& p) { p.pack(uint64_t{1} << 32); })).ok());
  CHECK_FALSE(Decode(Patched(example, kExampleStatus, [](Packer& p) { p.pack(std::string("failed")); })).ok());

  // Deep inside a Result: an example's status 7.
  const ResultMsg result{"r", 1, FullUnit()};
  CHECK(Decode(Patched(result, kFirstExampleStatus, [](Packer& p) { p.pack(1); })).ok());
  CHECK_FALSE(Decode(Patched(result, kFirstExampleStatus, [](Packer& p) { p.pack(7); })).ok());

  // UnitOutcome goes up to kNotRun (4).
  CHECK(Decode(Patched(result, kUnitOutcome, [](Packer& p) { p.pack(4); })).ok());
  CHECK_FALSE(Decode(Patched(result, kUnitOutcome, [](Packer& p) { p.pack(5); })).ok());
  CHECK_FALSE(Decode(Patched(result, kUnitOutcome, [](Packer& p) { p.pack(-1); })).ok());
}

TEST_CASE("protocol: a field of the wrong type is an error") {
  const TakeMsg take{"r", 0x5a};
  SECTION("a number where a string is expected") {
    CHECK_FALSE(Decode(Patched(DeclineMsg{"r", "why"}, {0}, [](Packer& p) { p.pack(1); })).ok());
    CHECK_FALSE(Decode(Patched(take, {0}, [](Packer& p) { p.pack(1); })).ok());
  }
  SECTION("a string where a number is expected") {
    CHECK_FALSE(Decode(Patched(take, {1}, [](Packer& p) { p.pack(std::string("1")); })).ok());
  }
  SECTION("a float where an integer is expected") {
    CHECK_FALSE(Decode(Patched(take, {1}, [](Packer& p) { p.pack(1.5); })).ok());
    // msgpack-c packs a whole double as an integer, so write a float64 1.0 byte by byte in
    // place of the slot 0x5a (a byte found nowhere else in this frame).
    std::string whole = Encode(Message(take));
    REQUIRE(std::count(whole.begin(), whole.end(), '\x5a') == 1);
    whole.replace(whole.find('\x5a'), 1, std::string("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9));
    CHECK_FALSE(Decode(whole).ok());
  }
  SECTION("nil where a value is expected") {
    CHECK_FALSE(Decode(Patched(take, {1}, [](Packer& p) { p.pack_nil(); })).ok());
    CHECK_FALSE(Decode(Patched(take, {0}, [](Packer& p) { p.pack_nil(); })).ok());
  }
  SECTION("a number where a boolean is expected, and the reverse") {
    // Offer body: [run_id, commit, repo_key, project_subdir, coordinator_host, ruby_version,
    // slots_wanted, rspec_args, targets, preload, fork_isolation, bundler, ...].
    const OfferMsg offer;
    CHECK(Decode(Patched(offer, {11}, [](Packer& p) { p.pack(false); })).ok());
    CHECK(Decode(Patched(offer, {6}, [](Packer& p) { p.pack(3); })).ok());
    CHECK_FALSE(Decode(Patched(offer, {11}, [](Packer& p) { p.pack(1); })).ok());
    CHECK_FALSE(Decode(Patched(offer, {11}, [](Packer& p) { p.pack_nil(); })).ok());
    CHECK_FALSE(Decode(Patched(offer, {6}, [](Packer& p) { p.pack(true); })).ok());
  }
  SECTION("a string where a list is expected") {
    CHECK_FALSE(Decode(Patched(AcceptMsg{"r", 1, {}}, {2}, [](Packer& p) { p.pack(std::string("haves")); })).ok());
  }
  SECTION("a list element of the wrong type") {
    const AcceptMsg accept{"r", 1, {"abc", "def"}};
    CHECK(Decode(Patched(accept, {2, 1}, [](Packer& p) { p.pack(std::string("xyz")); })).ok());
    CHECK_FALSE(Decode(Patched(accept, {2, 1}, [](Packer& p) { p.pack(5); })).ok());
    CHECK_FALSE(Decode(Patched(ReturnedMsg{"r", {1, 2}, ""}, {1, 0}, [](Packer& p) { p.pack(std::string("1")); })).ok());
  }
  SECTION("a string where a double is expected") {
    CHECK_FALSE(Decode(Patched(ReadyMsg{"r", 1, 0.5}, {2}, [](Packer& p) { p.pack(std::string("1.5")); })).ok());
  }
  SECTION("an integer where a double is expected is accepted") {
    Result<Message> decoded = Decode(Patched(ReadyMsg{"r", 1, 0.5}, {2}, [](Packer& p) { p.pack(-3); }));
    REQUIRE(decoded.ok());
    CHECK(std::get<ReadyMsg>(*decoded).prepare_time == -3.0);
  }
  SECTION("a pending message that is neither nil nor a string") {
    const ExampleMsg example{"r", 1, PendingExample()};
    CHECK(Decode(Patched(example, kExamplePending, [](Packer& p) { p.pack_nil(); })).ok());
    CHECK_FALSE(Decode(Patched(example, kExamplePending, [](Packer& p) { p.pack(5); })).ok());
    CHECK_FALSE(Decode(Patched(example, kExamplePending, [](Packer& p) { p.pack_array(0); })).ok());
  }
  SECTION("a signal that is neither nil nor an integer") {
    const ResultMsg result{"r", 1, FullUnit()};
    CHECK(Decode(Patched(result, kUnitSignal, [](Packer& p) { p.pack_nil(); })).ok());
    CHECK_FALSE(Decode(Patched(result, kUnitSignal, [](Packer& p) { p.pack(std::string("9")); })).ok());
  }
  SECTION("a map anywhere is an error") {
    CHECK_FALSE(Decode(Frame(KindOf<FinishMsg>(), [](Packer& p) { p.pack_map(0); })).ok());
    CHECK_FALSE(Decode(Patched(FinishMsg{"r"}, {0}, [](Packer& p) { p.pack_map(0); })).ok());
    CHECK_FALSE(Decode(Patched(AcceptMsg{"r", 1, {}}, {2}, [](Packer& p) { p.pack_map(0); })).ok());
  }
  SECTION("an ext value is an error") {
    CHECK_FALSE(Decode(Patched(FinishMsg{"r"}, {0}, [](Packer& p) {
                  p.pack_ext(1, 5);
                  p.pack_ext_body("\x01", 1);
                })).ok());
  }
}

TEST_CASE("protocol: a number out of its field's range is an error") {
  const TakeMsg take{"r", 1};
  const auto slot = [&](const std::function<void(Packer&)>& write) { return Decode(Patched(take, {1}, write)); };
  CHECK(slot([](Packer& p) { p.pack(std::numeric_limits<int>::max()); }).ok());
  CHECK(slot([](Packer& p) { p.pack(std::numeric_limits<int>::min()); }).ok());
  CHECK_FALSE(slot([](Packer& p) { p.pack(std::numeric_limits<uint64_t>::max()); }).ok());
  CHECK_FALSE(slot([](Packer& p) { p.pack(uint64_t{1} << 31); }).ok());
  CHECK_FALSE(slot([](Packer& p) { p.pack(int64_t{std::numeric_limits<int>::min()} - 1); }).ok());
  CHECK_FALSE(slot([](Packer& p) { p.pack(std::numeric_limits<int64_t>::min()); }).ok());

  // A uint64 field takes uint64 max, but not a negative number.
  const ChunkRequestMsg request{"r", "pack", 0};
  Result<Message> max =
      Decode(Patched(request, {2}, [](Packer& p) { p.pack(std::numeric_limits<uint64_t>::max()); }));
  REQUIRE(max.ok());
  CHECK(std::get<ChunkRequestMsg>(*max).offset == std::numeric_limits<uint64_t>::max());
  CHECK_FALSE(Decode(Patched(request, {2}, [](Packer& p) { p.pack(-1); })).ok());

  // A uint32 field (PackInfo.objects) refuses 2^32.
  const PackInfoMsg info{"r", "c", "pack", 1, 1};
  CHECK(Decode(Patched(info, {4}, [](Packer& p) { p.pack(std::numeric_limits<uint32_t>::max()); })).ok());
  CHECK_FALSE(Decode(Patched(info, {4}, [](Packer& p) { p.pack(uint64_t{1} << 32); })).ok());

  // An optional<int> (the signal) too large, deep inside a Result.
  const ResultMsg result{"r", 1, FullUnit()};
  CHECK_FALSE(Decode(Patched(result, kUnitSignal, [](Packer& p) { p.pack(uint64_t{1} << 31); })).ok());
  CHECK_FALSE(Decode(Patched(result, kUnitSignal, [](Packer& p) { p.pack(std::numeric_limits<uint64_t>::max()); })).ok());
  // A lease id in a Returned list.
  CHECK_FALSE(Decode(Patched(ReturnedMsg{"r", {1, 2}, ""}, {1, 1}, [](Packer& p) {
                p.pack(std::numeric_limits<uint64_t>::max());
              })).ok());
}

TEST_CASE("protocol: trailing bytes after a valid message are an error") {
  const std::string valid = Encode(Message(HeartbeatMsg{"r-1"}));
  REQUIRE(Decode(valid).ok());
  CHECK_FALSE(Decode(valid + std::string(1, '\0')).ok());
  CHECK_FALSE(Decode(valid + "x").ok());
  CHECK_FALSE(Decode(valid + valid).ok());
  const std::string result = EncodedResult();
  Result<Message> decoded = Decode(result + std::string(1, '\xc0'));
  REQUIRE_FALSE(decoded.ok());
  CHECK_THAT(decoded.status().message(), Catch::Contains("trailing"));
}

TEST_CASE("protocol: a frame larger than kMaxFrameBytes is an error, one at the limit is read") {
  // Not even msgpack: the size alone refuses it.
  CHECK_FALSE(Decode(std::string(kMaxFrameBytes + 1, '\x90')).ok());

  // A pack chunk whose frame is exactly at the limit is read...
  PackChunkMsg chunk{"r-1", "pack-1", 0, ""};
  const size_t overhead = Encode(Message(chunk)).size() + 3;  // the bin8 header grows to bin32
  chunk.bytes.assign(kMaxFrameBytes - overhead, 'z');
  std::string at_limit = Encode(Message(chunk));
  REQUIRE(at_limit.size() == kMaxFrameBytes);
  Result<Message> decoded = Decode(at_limit);
  INFO(decoded.status().message());
  REQUIRE(decoded.ok());
  CHECK(std::get<PackChunkMsg>(*decoded).bytes.size() == kMaxFrameBytes - overhead);

  // ... and one byte more is not.
  chunk.bytes.push_back('z');
  std::string over = Encode(Message(chunk));
  REQUIRE(over.size() == kMaxFrameBytes + 1);
  Result<Message> refused = Decode(over);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("too large"));
}

TEST_CASE("protocol: counts larger than the bytes that follow are an error") {
  // An array that claims 2^32-1 elements, a string that claims 4 GiB: nothing follows.
  CHECK_FALSE(Decode(std::string("\x92\x0e\xdd\xff\xff\xff\xff", 7)).ok());
  CHECK_FALSE(Decode(std::string("\x92\x0e\x91\xdb\xff\xff\xff\xff", 8)).ok());
  CHECK_FALSE(Decode(std::string("\x92\x0e\x91\xc6\xff\xff\xff\xff", 8)).ok());
  // Arrays within the element limit but with no elements behind the count.
  CHECK_FALSE(Decode(std::string("\x92\x0e\xdd\x00\x10\x00\x00", 7)).ok());
  // Nesting deeper than any message needs.
  std::string deep = "\x92\x0e";
  for (int i = 0; i < 100000; ++i) deep.push_back('\x91');
  deep.push_back('\xc0');
  CHECK_FALSE(Decode(deep).ok());
}

TEST_CASE("protocol: random bytes are an error, never a crash") {
  std::mt19937 random(20240611);
  std::uniform_int_distribution<int> length(0, 200);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(static_cast<size_t>(length(random)), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(random));
    Result<Message> decoded = Decode(bytes);
    if (decoded.ok()) {
      ++accepted;
      CheckConsistentIfAccepted(bytes);
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("protocol: a known kind with a random body is an error or a valid message, never a crash") {
  // Random bytes rarely get past the first byte; these reach every message's field parsing.
  std::mt19937 random(7);
  std::uniform_int_distribution<int> length(0, 120);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> kind(0, static_cast<int>(std::variant_size_v<Message>) - 1);
  std::uniform_int_distribution<int> fields(0, 16);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = "\x92";
    bytes.push_back(static_cast<char>(kind(random)));
    if (i % 2 == 0) bytes.push_back(static_cast<char>(0x90 + fields(random) % 16));  // a fixarray body
    size_t n = static_cast<size_t>(length(random));
    for (size_t j = 0; j < n; ++j) bytes.push_back(static_cast<char>(byte(random)));
    CheckConsistentIfAccepted(bytes);
  }
}

TEST_CASE("protocol: single-byte changes to a valid Result are an error or a valid message, never a crash") {
  const std::string valid = EncodedResult();
  int accepted = 0, refused = 0;
  for (size_t at = 0; at < valid.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      if (static_cast<char>(value) == valid[at]) continue;
      std::string bytes = valid;
      bytes[at] = static_cast<char>(value);
      Result<Message> decoded = Decode(bytes);
      if (decoded.ok()) {
        ++accepted;
        Result<Message> again = Decode(Encode(*decoded));
        REQUIRE(again.ok());
        CHECK(again->index() == decoded->index());
      } else {
        ++refused;
      }
    }
  }
  // Changing a character inside a string keeps a valid message; changing a header mostly does not.
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

TEST_CASE("protocol: MessageName names the kind") {
  CHECK(std::string(MessageName(HelloMsg{})) == "Hello");
  CHECK(std::string(MessageName(OfferMsg{})) == "Offer");
  CHECK(std::string(MessageName(ChunkRequestMsg{})) == "ChunkRequest");
  CHECK(std::string(MessageName(LeaseMsg{})) == "Lease");
  CHECK(std::string(MessageName(ResultMsg{})) == "Result");
  CHECK(std::string(MessageName(SuiteResultMsg{})) == "SuiteResult");
  CHECK(std::string(MessageName(HeartbeatMsg{})) == "Heartbeat");
  CHECK(std::string(MessageName(ReturnedMsg{})) == "Returned");
  CHECK(std::string(MessageName(StatusQueryMsg{})) == "StatusQuery");
  CHECK(std::string(MessageName(StatusReplyMsg{})) == "StatusReply");
}

// protocol.h documents PackChunkMsg::bytes as "msgpack bin", but Put(std::string) packs every
// string, these bytes included, as msgpack str (which the msgpack spec reserves for UTF-8 text).
// Our own Decode reads both, so C++ nodes work; a decoder in another language may refuse or
// mangle a chunk of a git pack. Demonstrates the mismatch until Encode writes bin here.
TEST_CASE("protocol: a pack chunk goes on the wire as msgpack bin, as protocol.h documents") {
  std::string binary = std::string("PACK\0\0\0\x02\xff\xfe", 10);
  const std::string bytes = Encode(Message(PackChunkMsg{"r", "pack-1", 0, binary}));
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  msgpack::object root = handle.get();
  const uint32_t fields = FieldCount(PackChunkMsg{});
  REQUIRE(fields >= 4);
  const msgpack::object* chunk = Walk(&root.via.array.ptr[1], {3});
  CHECK(chunk->type == msgpack::type::BIN);
  // Whatever the wire type, the bytes come back intact.
  Result<Message> decoded = Decode(bytes);
  REQUIRE(decoded.ok());
  CHECK(std::get<PackChunkMsg>(*decoded).bytes == binary);
}
