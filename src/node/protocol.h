// The swarm's wire protocol: every message a coordinator (`specswarm run`), a peer (`specswarm
// join`) and a status client exchange, and the only code that turns them into bytes.
//
// Transport: one ZeroMQ frame per message (the ROUTER side adds the routing-id frame), holding
// a msgpack array [kind, body], body being the message's fields as an array in declaration
// order. The shapes are the ZeroMQ guide's: a coordinator's DEALER talks to each peer's ROUTER;
// heartbeats flow both ways while a run is shared (Paranoid Pirate); every unit handed out is a
// lease, answered at most once.
//
//   coordinator                                  peer
//   Hello ───────────────────────────────────────► (version check)
//         ◄─────────────────────────────────────── Hello (its slots, idle, why it cannot serve)
//   Offer{run, commit, ruby, args...} ───────────►
//         ◄─────────────────────────────────────── Accept{slots, haves} | Decline{why}
//   PackInfo ────────────────────────────────────►
//         ◄─────────────────────────────────────── ChunkRequest{offset}   (one at a time)
//   PackChunk ───────────────────────────────────►   ... check out, setup hooks, boot
//         ◄─────────────────────────────────────── Ready{slots} | Failed{why}
//         ◄─────────────────────────────────────── Take{slot}              (a slot is idle)
//   Lease{lease id, unit} ───────────────────────►
//         ◄─────────────────────────────────────── Example... Result{lease id, unit result}
//   Finish (queue done) ─────────────────────────►   after(:suite) on every slot
//         ◄─────────────────────────────────────── SuiteResult..., Done
//   Heartbeat ◄──────────────────────────────────► Heartbeat   (every second, both ways)
//   Cancel{why} ─────────────────────────────────► (run over or aborted: free the slots)
//         ◄─────────────────────────────────────── Returned{lease ids}  (peer leaving)
//   StatusQuery ─────────────────────────────────► StatusReply{json}   (any client)
//
// Bytes from the network are untrusted: Decode never throws and never trusts a size; anything
// that is not exactly a known message of this version is an error the caller logs and drops.
// Hello's layout is frozen (proto first), so nodes of different versions can still tell each
// other why they will not work together. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "exec/spec_result.h"

namespace specswarm::node {

// Bump on any change to a message's fields. Nodes of another version take no work.
inline constexpr int kProtocolVersion = 1;

// Seconds between heartbeats, and of silence after which the other side is taken for gone.
inline constexpr double kHeartbeatInterval = 1.0;
inline constexpr double kHeartbeatExpiry = 5.0;

// Every Hello: who is speaking. A peer fills slots/idle and, when it cannot serve, why_not.
struct HelloMsg {
  int proto = kProtocolVersion;
  std::string node_id;
  std::string host;
  std::string version;  // specswarm's version
  int slots = 0;
  int idle = 0;
  std::string why_not;  // "" when it can take work
};

// What a peer needs to run a share of the run exactly as the coordinator would locally.
struct OfferMsg {
  std::string run_id;
  std::string commit;             // the snapshot, 40-hex
  std::string repo_key;           // names the peer's object store for this repository
  std::string project_subdir;     // where rspec runs, relative to the repository ("" = its root)
  std::string coordinator_host;
  std::string ruby_version;       // the project's .ruby-version, "" when it has none
  int slots_wanted = 0;
  std::vector<std::string> rspec_args;
  std::vector<std::string> targets;   // the run's targets, as the local targets file
  std::vector<std::string> preload;
  bool fork_isolation = false;
  bool bundler = true;
  bool first_is_1 = false;
  bool shared_tmp = false;
  double unit_timeout = 0;
  double boot_timeout = 0;
  // From a run on this node's own machine: no code, no workers, just hold `slots_wanted` slots
  // of this machine's budget for the run's local slots while it lasts (one machine, one budget).
  bool reserve_only = false;
};

struct AcceptMsg {
  std::string run_id;
  int slots = 0;
  std::vector<std::string> haves;  // complete commits of this repository the peer holds
};

struct DeclineMsg {
  std::string run_id;
  std::string why;
};

struct PackInfoMsg {
  std::string run_id;
  std::string commit;
  std::string pack_id;
  uint64_t size = 0;
  uint32_t objects = 0;
};

struct ChunkRequestMsg {
  std::string run_id;
  std::string pack_id;
  uint64_t offset = 0;
};

struct PackChunkMsg {
  std::string run_id;
  std::string pack_id;
  uint64_t offset = 0;
  std::string bytes;  // msgpack bin
};

struct ReadyMsg {
  std::string run_id;
  int slots = 0;
  double prepare_time = 0;  // seconds from Accept to every slot booted
};

// The peer cannot serve the run after all (checkout, setup hook, boot, skew); it frees its slots.
struct FailedMsg {
  std::string run_id;
  std::string why;
};

struct TakeMsg {
  std::string run_id;
  int slot = 0;
};

struct LeaseMsg {
  std::string run_id;
  int lease_id = 0;
  int slot = 0;
  int unit_id = 0;
  std::string file;
  std::vector<std::string> ids;
  std::vector<std::string> except_ids;
};

struct ExampleMsg {
  std::string run_id;
  int lease_id = 0;
  exec::ExampleResult example;
};

struct ResultMsg {
  std::string run_id;
  int lease_id = 0;
  exec::UnitResult unit;
};

// Errors of after(:suite) hooks on a peer's slot, at the end of the run.
struct SuiteResultMsg {
  std::string run_id;
  exec::UnitResult unit;
};

struct FinishMsg { std::string run_id; };
struct DoneMsg { std::string run_id; };
// From a peer it also lists the leases the peer holds (running or queued): a lease the
// coordinator sent that a later heartbeat does not list was lost in transit and is taken back.
struct HeartbeatMsg { std::string run_id; std::vector<int> leases; };
struct CancelMsg { std::string run_id; std::string why; };
// A leaving peer hands these leases back unanswered.
struct ReturnedMsg { std::string run_id; std::vector<int> lease_ids; std::string why; };

struct StatusQueryMsg {};
struct StatusReplyMsg { std::string json; };  // docs/STATUS.md

using Message = std::variant<HelloMsg, OfferMsg, AcceptMsg, DeclineMsg, PackInfoMsg, ChunkRequestMsg,
                             PackChunkMsg, ReadyMsg, FailedMsg, TakeMsg, LeaseMsg, ExampleMsg, ResultMsg,
                             SuiteResultMsg, FinishMsg, DoneMsg, HeartbeatMsg, CancelMsg, ReturnedMsg,
                             StatusQueryMsg, StatusReplyMsg>;

// A short name for logs: "Hello", "Lease"...
const char* MessageName(const Message& message);

std::string Encode(const Message& message);
// One line saying what is wrong when `bytes` is not exactly one known message.
Result<Message> Decode(std::string_view bytes);

// The largest frame a node accepts: a pack chunk, or the result of a file with a few hundred
// thousand examples. A larger frame is a protocol error that closes the connection unread.
inline constexpr size_t kMaxFrameBytes = 64u << 20;

}  // namespace specswarm::node
