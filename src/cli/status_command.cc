// `specswarm status [--json [--watch S]] [--port PORT] [--timeout S] [--peer HOST:PORT]...`: every node this machine
// knows, this one first: id, host, address:port, version, slots total / busy / idle, the runs it
// serves, and why it takes no work when it does not. The local node (`join` on --port) names
// the peers it sees; each is then asked for its own status, all at once, for --timeout seconds.
// The JSON is a stable interface (docs/STATUS.md); `--json --watch S` prints one document per
// line every S seconds over links kept open between rounds: the tray reads that.
// Nodes of another swarm (their TXT fingerprint is not ours) are listed, never asked.
// Exit 0 when the local node answered, 1 when no node is running here, 2 on bad flags or
// without a usable swarm key.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "discovery/seed_list.h"
#include "node/sockets.h"

namespace specswarm::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct StatusOptions {
  bool json = false;
  int port = 7070;
  double timeout = 2;
  double watch = 0;  // > 0: one compact document per line every `watch` seconds, until stdout closes
  std::vector<std::string> peers;
};

struct Query {
  std::string endpoint, address;
  int port = 0;
  json seen = json::object();  // what the asking node knew of it (advert), if anything
  bool other_swarm = false;
  zmq::socket_t* socket = nullptr;  // owned by the Asker
  std::optional<json> answer;
  std::string error;
};

// Asks nodes for their status over CURVE links it keeps open between rounds (--watch), so a
// node that answered is not handshaken with again; a link that got no answer is closed, so
// no question queues up for a node that is gone.
class Asker {
 public:
  Asker(zmq::context_t& context, const node::SwarmKey& key) : context_(context), key_(key) {}

  // Asks every query's node at once; fills answer or error within `timeout` seconds.
  void AskAll(std::vector<Query>& queries, double timeout) {
    // One question per node: a seed may name a node the local one listed too. The first query
    // of an endpoint asks; the others copy its outcome below.
    std::map<std::string, Query*> asking;
    std::vector<Query*> copies;
    for (auto& q : queries) {
      if (q.other_swarm) continue;
      if (!asking.emplace(q.endpoint, &q).second) {
        copies.push_back(&q);
        continue;
      }
      q.socket = Link(q.endpoint, &q.error);
      if (!q.socket) continue;
      while (node::Receive(*q.socket)) {
      }  // a late answer to an earlier round
      node::Send(*q.socket, node::StatusQueryMsg{});
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    for (;;) {
      std::vector<zmq_pollitem_t> items;
      std::vector<Query*> waiting;
      for (auto& q : queries) {
        if (q.socket && !q.answer && q.error.empty()) {
          items.push_back({q.socket->handle(), 0, ZMQ_POLLIN, 0});
          waiting.push_back(&q);
        }
      }
      long left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (waiting.empty() || left <= 0) break;
      zmq_poll(items.data(), static_cast<int>(items.size()), left);
      for (Query* q : waiting) {
        while (auto received = node::Receive(*q->socket)) {
          if (!received->message.ok()) continue;
          if (auto* reply = std::get_if<node::StatusReplyMsg>(&*received->message)) {
            json parsed = json::parse(reply->json, nullptr, false);
            if (parsed.is_discarded() || !parsed.contains("node") || !parsed["node"].is_object()) {
              q->error = "answered with a malformed status";
            } else {
              q->answer = std::move(parsed);
            }
          }
        }
      }
    }
    for (auto& q : queries) {
      if (!q.answer && q.error.empty()) {
        q.error = "no answer from " + q.endpoint + " within " + std::to_string(static_cast<int>(timeout)) +
                  " s: not in the same swarm, or not running";
      }
      if (q.socket && !q.answer) links_.erase(q.endpoint);
      q.socket = nullptr;
    }
    for (Query* copy : copies) {
      const Query& asked = *asking[copy->endpoint];
      copy->answer = asked.answer;
      copy->error = asked.error;
    }
  }

  // Closes the links to nodes no longer named (call after a round of every query).
  void KeepOnly(const std::set<std::string>& endpoints) {
    std::erase_if(links_, [&](const auto& link) { return !endpoints.count(link.first); });
  }

 private:
  zmq::socket_t* Link(const std::string& endpoint, std::string* error) {
    auto it = links_.find(endpoint);
    if (it != links_.end()) return &it->second;
    auto socket = node::ConnectClient(context_, endpoint, &key_);
    if (!socket.ok()) {
      *error = socket.status().message();
      return nullptr;
    }
    return &links_.emplace(endpoint, std::move(*socket)).first->second;
  }

  zmq::context_t& context_;
  const node::SwarmKey& key_;
  std::map<std::string, zmq::socket_t> links_;
};

json NodeRow(const Query& q, bool self) {
  json row;
  if (q.answer) {
    row = (*q.answer)["node"];
    row["reachable"] = true;
    if (row.value("proto", 0) != node::kProtocolVersion && row["excluded"].is_null()) {
      row["excluded"] = "speaks protocol version " + std::to_string(row.value("proto", 0)) + ", this node " +
                        std::to_string(node::kProtocolVersion);
    }
  } else {
    row = {{"id", q.seen.value("id", "")}, {"host", q.seen.value("host", q.address)}, {"port", q.port},
           {"version", q.seen.value("version", "")}, {"proto", q.seen.value("proto", 0)},
           {"slots", q.seen.value("slots", 0)}, {"busy", nullptr}, {"idle", q.seen.value("idle", 0)},
           {"runs", json::array()}, {"reachable", false}, {"excluded", q.error}};
  }
  row["address"] = q.address + ":" + std::to_string(q.port);
  row["other_swarm"] = q.other_swarm;
  if (!q.answer && q.seen.contains("swarm")) row["swarm"] = q.seen["swarm"];
  row["self"] = self;
  return row;
}

void PrintTable(const json& nodes) {
  std::printf("%-18s %-20s %-24s %-8s %5s %5s %5s  %s\n", "ID", "HOST", "ADDRESS", "VERSION", "SLOTS", "BUSY", "IDLE",
              "RUNS / NOTE");
  for (const json& n : nodes) {
    std::string note;
    for (const json& r : n["runs"]) {
      note += (note.empty() ? "" : "; ") + r.value("coordinator", "?") + " " + r.value("snapshot", "").substr(0, 10) + " (" +
              r.value("phase", "") + ", " + std::to_string(r.value("files_done", 0)) + " files)";
    }
    if (!n["excluded"].is_null()) note += (note.empty() ? "" : "; ") + ("not used: " + n["excluded"].get<std::string>());
    auto num = [](const json& v) { return v.is_number() ? std::to_string(v.get<int>()) : std::string("?"); };
    std::string id = n.value("id", "");
    std::printf("%-18s %-20s %-24s %-8s %5s %5s %5s  %s%s\n", id.empty() ? "-" : id.c_str(), n.value("host", "").c_str(),
                n.value("address", "").c_str(), n.value("version", "").c_str(), num(n["slots"]).c_str(),
                num(n["busy"]).c_str(), num(n["idle"]).c_str(), n.value("self", false) ? "(this machine) " : "",
                note.c_str());
  }
}

// One round: the local node, then every node it names and every seed. Returns the exit code
// `status` gives for it (0, or 1 when no node of this swarm runs here) and the document.
int AskRound(Asker& asker, const StatusOptions& o, const std::vector<discovery::Seed>& seeds,
             const std::string& fingerprint, json* doc) {
  std::vector<Query> local(1);
  local[0].address = "127.0.0.1";
  local[0].port = o.port;
  local[0].endpoint = node::TcpEndpoint("127.0.0.1", o.port);
  asker.AskAll(local, o.timeout);
  std::set<std::string> endpoints{local[0].endpoint};
  if (!local[0].answer) {
    const std::string why = "no node of this swarm is running on this machine (port " + std::to_string(o.port) +
                            "): start one with `specswarm join`";
    *doc = json{{"version", 1}, {"nodes", json::array()}, {"error", why}};
    asker.KeepOnly(endpoints);
    return 1;
  }
  std::vector<Query> peers;
  for (const json& p : (*local[0].answer)["peers"]) {
    Query q;
    q.address = p.value("address", "");
    q.port = p.value("port", 0);
    if (q.address.empty() || q.port == 0) continue;
    q.endpoint = node::TcpEndpoint(q.address, q.port);
    q.seen = p;
    if (p.contains("swarm") && p["swarm"] != fingerprint) {
      q.other_swarm = true;
      q.error = "other swarm (" + (p["swarm"].get<std::string>().empty() ? std::string("no key") : p["swarm"].get<std::string>()) + ")";
    }
    peers.push_back(std::move(q));
  }
  for (const auto& seed : seeds) {
    Query q;
    q.address = seed.host;
    q.port = seed.port;
    q.endpoint = node::TcpEndpoint(seed.host, seed.port);
    peers.push_back(std::move(q));
  }
  asker.AskAll(peers, o.timeout);
  for (const Query& q : peers) endpoints.insert(q.endpoint);
  asker.KeepOnly(endpoints);
  json nodes = json::array();
  nodes.push_back(NodeRow(local[0], true));
  std::set<std::string> ids{nodes[0].value("id", "")};
  for (const Query& q : peers) {
    json row = NodeRow(q, false);
    std::string id = row.value("id", "");
    if (!id.empty() && !ids.insert(id).second) continue;  // seen both over mDNS and as a seed
    nodes.push_back(std::move(row));
  }
  *doc = json{{"version", 1}, {"nodes", nodes}};
  return 0;
}

int RunStatus(const StatusOptions& o) {
  // A bad --peer is a bad flag: exit 2 before waiting on anyone.
  auto seeds = discovery::ParseSeeds(o.peers);
  if (!seeds.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", seeds.status().message().c_str());
    return 2;
  }
  if (o.watch > 0 && !o.json) {
    std::fprintf(stderr, "specswarm: --watch prints JSON documents: add --json\n");
    return 2;
  }
  const std::string key_path = node::DefaultSwarmKeyPath();
  auto key = node::LoadSwarmKey(key_path);
  if (!key.ok() || !*key) {
    const std::string why = key.ok() ? node::NoSwarmKeyAdvice(key_path) : key.status().message();
    std::fprintf(stderr, "specswarm: %s\n", why.c_str());
    if (o.json) std::printf("%s\n", json{{"version", 1}, {"nodes", json::array()}, {"error", why}}.dump(o.watch > 0 ? -1 : 2).c_str());
    return 2;
  }
  const std::string fingerprint = (*key)->Fingerprint();
  zmq::context_t context(1);
  Asker asker(context, **key);
  if (o.watch > 0) {
    // A reader that goes away closes the pipe: the next write fails and the watch ends.
    std::signal(SIGPIPE, SIG_IGN);
    for (;;) {
      const auto started = Clock::now();
      json doc;
      AskRound(asker, o, *seeds, fingerprint, &doc);
      if (std::printf("%s\n", doc.dump().c_str()) < 0 || std::fflush(stdout) != 0) return 0;
      std::this_thread::sleep_until(started + std::chrono::milliseconds(static_cast<long>(o.watch * 1000)));
    }
  }
  json doc;
  const int code = AskRound(asker, o, *seeds, fingerprint, &doc);
  if (code != 0) std::fprintf(stderr, "specswarm: %s\n", doc["error"].get<std::string>().c_str());
  if (o.json) {
    std::printf("%s\n", doc.dump(2).c_str());
  } else if (code == 0) {
    PrintTable(doc["nodes"]);
  }
  return code;
}

}  // namespace

void AddStatusCommand(CLI::App& app, CommandAction* chosen) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Every node of the swarm this machine knows: slots busy and idle, runs served");
  cmd->add_flag("--json", options->json, "Print JSON (docs/STATUS.md) instead of a table");
  cmd->add_option("--port", options->port, "The local node's port (default 7070)")->check(CLI::Range(1, 65535));
  cmd->add_option("--timeout", options->timeout, "Seconds to wait for each node's answer (default 2)")->check(CLI::Range(0.1, 60.0));
  cmd->add_option("--peer", options->peers, "Also ask HOST:PORT (repeatable)");
  cmd->add_option("--watch", options->watch,
                  "With --json: ask again every SECONDS, one document per line, until stdout closes (the tray reads this)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->callback([chosen, options] { *chosen = [options] { return RunStatus(*options); }; });
}

}  // namespace specswarm::cli
