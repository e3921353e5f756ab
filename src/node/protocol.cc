#include "node/protocol.h"

#include <msgpack.hpp>

#include <stdexcept>
#include <tuple>
#include <type_traits>

namespace specswarm::node {
namespace {

// Each wire type lists its fields once, in wire order; Put and Get walk that list both ways.
auto Tie(HelloMsg& m) { return std::tie(m.proto, m.node_id, m.host, m.version, m.slots, m.idle, m.why_not); }
auto Tie(OfferMsg& m) {
  return std::tie(m.run_id, m.commit, m.repo_key, m.project_subdir, m.coordinator_host, m.ruby_version, m.slots_wanted, m.rspec_args,
                  m.targets, m.preload, m.fork_isolation, m.bundler, m.first_is_1, m.shared_tmp, m.unit_timeout,
                  m.boot_timeout, m.reserve_only);
}
auto Tie(AcceptMsg& m) { return std::tie(m.run_id, m.slots, m.haves); }
auto Tie(DeclineMsg& m) { return std::tie(m.run_id, m.why); }
auto Tie(PackInfoMsg& m) { return std::tie(m.run_id, m.commit, m.pack_id, m.size, m.objects); }
auto Tie(ChunkRequestMsg& m) { return std::tie(m.run_id, m.pack_id, m.offset); }
// Pack bytes are binary: msgpack bin, not str (which msgpack reserves for UTF-8 text).
struct Bin {
  std::string& bytes;
};
auto Tie(PackChunkMsg& m) {
  return std::tuple<std::string&, std::string&, uint64_t&, Bin>(m.run_id, m.pack_id, m.offset, Bin{m.bytes});
}
auto Tie(ReadyMsg& m) { return std::tie(m.run_id, m.slots, m.prepare_time); }
auto Tie(FailedMsg& m) { return std::tie(m.run_id, m.why); }
auto Tie(TakeMsg& m) { return std::tie(m.run_id, m.slot); }
auto Tie(LeaseMsg& m) { return std::tie(m.run_id, m.lease_id, m.slot, m.unit_id, m.file, m.ids, m.except_ids); }
auto Tie(ExampleMsg& m) { return std::tie(m.run_id, m.lease_id, m.example); }
auto Tie(ResultMsg& m) { return std::tie(m.run_id, m.lease_id, m.unit); }
auto Tie(SuiteResultMsg& m) { return std::tie(m.run_id, m.unit); }
auto Tie(FinishMsg& m) { return std::tie(m.run_id); }
auto Tie(DoneMsg& m) { return std::tie(m.run_id); }
auto Tie(HeartbeatMsg& m) { return std::tie(m.run_id, m.leases); }
auto Tie(CancelMsg& m) { return std::tie(m.run_id, m.why); }
auto Tie(ReturnedMsg& m) { return std::tie(m.run_id, m.lease_ids, m.why); }
auto Tie(StatusQueryMsg&) { return std::tuple<>(); }
auto Tie(StatusReplyMsg& m) { return std::tie(m.json); }

auto Tie(exec::ExceptionInfo& m) { return std::tie(m.class_name, m.message, m.backtrace); }
auto Tie(exec::ExampleResult& m) {
  return std::tie(m.id, m.description, m.full_description, m.status, m.file_path, m.line_number, m.run_time,
                  m.pending_message, m.exception, m.block, m.rerun, m.slot, m.host);
}
auto Tie(exec::GroupInfo& m) { return std::tie(m.id, m.description, m.has_context_hooks); }
auto Tie(exec::UnitResult& m) {
  return std::tie(m.unit_id, m.file, m.ids, m.slot, m.outcome, m.examples, m.groups, m.outline, m.messages,
                  m.errors_outside_examples, m.exit_code, m.signal, m.output, m.problem, m.wall_time, m.host);
}

template <typename T>
concept Tied = requires(T& t) { Tie(t); };

// The largest enum value each enum accepts from the wire.
constexpr int MaxOf(exec::ExampleStatus*) { return static_cast<int>(exec::ExampleStatus::kPending); }
constexpr int MaxOf(exec::UnitOutcome*) { return static_cast<int>(exec::UnitOutcome::kNotRun); }

using Packer = msgpack::packer<msgpack::sbuffer>;

struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Put(Packer& p, const std::string& v) { p.pack(v); }
void Put(Packer& p, const Bin& v) {
  p.pack_bin(static_cast<uint32_t>(v.bytes.size()));
  p.pack_bin_body(v.bytes.data(), static_cast<uint32_t>(v.bytes.size()));
}
void Put(Packer& p, bool v) { p.pack(v); }
template <typename T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
void Put(Packer& p, T v) { p.pack(v); }
template <typename T>
  requires std::is_enum_v<T>
void Put(Packer& p, T v) { p.pack(static_cast<int>(v)); }
template <typename T>
void Put(Packer& p, const std::optional<T>& v);
template <typename T>
void Put(Packer& p, const std::vector<T>& v);
template <Tied T>
void Put(Packer& p, const T& v) {
  auto fields = Tie(const_cast<T&>(v));
  p.pack_array(static_cast<uint32_t>(std::tuple_size_v<decltype(fields)>));
  std::apply([&p](const auto&... f) { (Put(p, f), ...); }, fields);
}
template <typename T>
void Put(Packer& p, const std::optional<T>& v) {
  if (v) {
    Put(p, *v);
  } else {
    p.pack_nil();
  }
}
template <typename T>
void Put(Packer& p, const std::vector<T>& v) {
  p.pack_array(static_cast<uint32_t>(v.size()));
  for (const auto& item : v) Put(p, item);
}

void Get(const msgpack::object& o, std::string& v) {
  if (o.type == msgpack::type::STR) {
    v.assign(o.via.str.ptr, o.via.str.size);
  } else if (o.type == msgpack::type::BIN) {
    v.assign(o.via.bin.ptr, o.via.bin.size);
  } else {
    throw WireError("a string was expected");
  }
}
void Get(const msgpack::object& o, Bin& v) { Get(o, v.bytes); }
void Get(const msgpack::object& o, bool& v) {
  if (o.type != msgpack::type::BOOLEAN) throw WireError("a boolean was expected");
  v = o.via.boolean;
}
template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
void Get(const msgpack::object& o, T& v) {
  // msgpack's own conversion checks the range: a number too large for T is an error, not UB.
  if (o.type != msgpack::type::POSITIVE_INTEGER && o.type != msgpack::type::NEGATIVE_INTEGER)
    throw WireError("an integer was expected");
  o.convert(v);
}
void Get(const msgpack::object& o, double& v) {
  if (o.type != msgpack::type::FLOAT64 && o.type != msgpack::type::FLOAT32 &&
      o.type != msgpack::type::POSITIVE_INTEGER && o.type != msgpack::type::NEGATIVE_INTEGER)
    throw WireError("a number was expected");
  o.convert(v);
}
template <typename T>
  requires std::is_enum_v<T>
void Get(const msgpack::object& o, T& v) {
  int n = 0;
  Get(o, n);
  if (n < 0 || n > MaxOf(static_cast<T*>(nullptr))) throw WireError("an enum value is out of range");
  v = static_cast<T>(n);
}
template <typename T>
void Get(const msgpack::object& o, std::optional<T>& v);
template <typename T>
void Get(const msgpack::object& o, std::vector<T>& v);
template <Tied T>
void Get(const msgpack::object& o, T& v) {
  auto fields = Tie(v);
  constexpr size_t n = std::tuple_size_v<decltype(fields)>;
  if (o.type != msgpack::type::ARRAY || o.via.array.size != n) throw WireError("a record has the wrong shape");
  [&]<size_t... I>(std::index_sequence<I...>) {
    (Get(o.via.array.ptr[I], std::get<I>(fields)), ...);
  }(std::make_index_sequence<n>());
}
template <typename T>
void Get(const msgpack::object& o, std::optional<T>& v) {
  if (o.type == msgpack::type::NIL) {
    v.reset();
  } else {
    v.emplace();
    Get(o, *v);
  }
}
template <typename T>
void Get(const msgpack::object& o, std::vector<T>& v) {
  if (o.type != msgpack::type::ARRAY) throw WireError("a list was expected");
  v.clear();
  v.resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) Get(o.via.array.ptr[i], v[i]);
}

template <size_t I = 0>
Message MakeAlternative(size_t index, const msgpack::object& body) {
  if constexpr (I < std::variant_size_v<Message>) {
    if (index == I) {
      std::variant_alternative_t<I, Message> m;
      Get(body, m);
      return m;
    }
    return MakeAlternative<I + 1>(index, body);
  } else {
    throw WireError("unknown message kind " + std::to_string(index));
  }
}

}  // namespace

const char* MessageName(const Message& message) {
  static const char* const kNames[] = {"Hello",    "Offer",   "Accept",  "Decline",     "PackInfo", "ChunkRequest",
                                       "PackChunk", "Ready",  "Failed",  "Take",        "Lease",    "Example",
                                       "Result",   "SuiteResult", "Finish", "Done",     "Heartbeat", "Cancel",
                                       "Returned", "StatusQuery", "StatusReply"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[message.index()];
}

std::string Encode(const Message& message) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_array(2);
  packer.pack(static_cast<uint32_t>(message.index()));
  std::visit([&packer](const auto& m) { Put(packer, m); }, message);
  return std::string(buffer.data(), buffer.size());
}

Result<Message> Decode(std::string_view bytes) {
  if (bytes.size() > kMaxFrameBytes) return Status::Error("message of " + std::to_string(bytes.size()) + " bytes is too large");
  try {
    std::size_t offset = 0;
    // Limits bound what a hostile frame can make us allocate (msgpack trusts counts otherwise).
    msgpack::unpack_limit limit(/*array=*/1u << 20, /*map=*/0, /*str=*/kMaxFrameBytes, /*bin=*/kMaxFrameBytes,
                                /*ext=*/0, /*depth=*/12);
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) return Status::Error("trailing bytes after the message");
    const msgpack::object& o = handle.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) return Status::Error("not a [kind, body] message");
    uint32_t kind = 0;
    Get(o.via.array.ptr[0], kind);
    const msgpack::object& body = o.via.array.ptr[1];
    // A Hello of another version may have other fields: read the version alone and say so.
    if (kind == 0 && body.type == msgpack::type::ARRAY && body.via.array.size >= 1) {
      int proto = 0;
      Get(body.via.array.ptr[0], proto);
      if (proto != kProtocolVersion) {
        HelloMsg hello;
        hello.proto = proto;
        if (body.via.array.size >= 3) {
          try {
            Get(body.via.array.ptr[1], hello.node_id);
            Get(body.via.array.ptr[2], hello.host);
          } catch (const std::exception&) {
          }
        }
        return Message(std::move(hello));
      }
    }
    return MakeAlternative(kind, body);
  } catch (const std::exception& e) {
    return Status::Error(std::string("malformed message: ") + e.what());
  }
}

}  // namespace specswarm::node
