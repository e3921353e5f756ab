// `specswarm discover [--timeout SECONDS] [--json [--watch S]] [--peer HOST:PORT...]`: lists the peers this
// machine can see — over mDNS, and the named or cached peers that accept a connection — and,
// when it sees none, the likely reasons it can check, each with what to do. A node whose TXT
// fingerprint is not this machine's swarm key's is marked "other swarm": runs never contact it.
// Exit 0 with peers, 1 with none, 2 on bad flags.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.h>

#include "cli/commands.h"
#include "discovery/backend.h"
#include "discovery/diagnose.h"
#include "discovery/peer_cache.h"
#include "discovery/peer_directory.h"
#include "discovery/poll_loop.h"
#include "discovery/reachability.h"
#include "discovery/seed_list.h"
#include "node/swarm_key.h"

namespace specswarm::cli {
namespace {

namespace d = specswarm::discovery;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct DiscoverOptions {
  double timeout = 2.0;
  bool json = false;
  std::vector<std::string> peers;
  std::string backend = "avahi";
  bool no_cache = false;
  bool verbose = false;
  double watch = 0;  // > 0: keep browsing, one JSON document per line every `watch` seconds
};

// One line of the listing: an mDNS peer, or a seed/cached peer with its probe result.
struct Row {
  d::Peer peer;
  bool reachable = true;
  std::string why;  // why not reachable
};

// `fingerprint` is our swarm's ("" without a key: then every node with one is another swarm's).
bool OtherSwarm(const d::Peer& p, const std::string& fingerprint) { return p.advert && p.advert->key != fingerprint; }

json RowJson(const Row& r, const std::string& fingerprint) {
  const d::Peer& p = r.peer;
  json j{{"id", p.id}, {"host", p.host}, {"address", p.Endpoint()}, {"addresses", p.addresses},
         {"port", p.port}, {"source", d::ToString(p.source)}, {"reachable", r.reachable}};
  if (p.advert) {
    j["version"] = p.advert->ver;
    j["proto"] = p.advert->proto;
    j["slots"] = p.advert->slots;
    j["idle"] = p.advert->idle;
    j["swarm"] = p.advert->key;
  }
  j["other_swarm"] = OtherSwarm(p, fingerprint);
  if (!r.reachable) j["why"] = r.why;
  return j;
}

// What one look at the directory found.
struct Listing {
  std::vector<Row> rows, unreachable;
  std::vector<d::Finding> findings;  // why there are no rows, when there are none
};

json ListingJson(const Listing& l, const std::string& fingerprint) {
  json out{{"peers", json::array()}, {"unreachable", json::array()}, {"diagnosis", json::array()}};
  for (const Row& r : l.rows) out["peers"].push_back(RowJson(r, fingerprint));
  for (const Row& r : l.unreachable) out["unreachable"].push_back(RowJson(r, fingerprint));
  for (const d::Finding& f : l.findings) out["diagnosis"].push_back({{"problem", f.problem}, {"fix", f.fix}});
  return out;
}

void PrintTable(const std::vector<Row>& rows, const std::string& fingerprint) {
  std::printf("%-20s %-24s %-22s %-8s %5s %5s  %s\n", "ID", "HOST", "ADDRESS", "VERSION", "SLOTS",
              "IDLE", "SOURCE");
  for (const Row& r : rows) {
    const d::Peer& p = r.peer;
    std::string slots = p.advert ? std::to_string(p.advert->slots) : "?";
    std::string idle = p.advert ? std::to_string(p.advert->idle) : "?";
    std::string source = d::ToString(p.source);
    if (p.source != d::PeerSource::kMdns) source += r.reachable ? " (answers on its port)" : " (no answer)";
    if (OtherSwarm(p, fingerprint)) source += p.advert->key.empty() ? ", other swarm (no key)" : ", other swarm (" + p.advert->key + ")";
    std::printf("%-20s %-24s %-22s %-8s %5s %5s  %s\n", p.id.empty() ? "-" : p.id.c_str(),
                p.host.c_str(), p.Endpoint().c_str(), p.advert ? p.advert->ver.c_str() : "?",
                slots.c_str(), idle.c_str(), source.c_str());
  }
}

int RunDiscover(const DiscoverOptions& o) {
  // -v shows the debug lines, e.g. why a record on the LAN was ignored.
  spdlog::set_level(o.verbose ? spdlog::level::debug : spdlog::level::warn);
  if (o.watch > 0 && !o.json) {
    std::fprintf(stderr, "specswarm: --watch prints JSON documents: add --json\n");
    return 2;
  }
  if (o.watch > 0) std::signal(SIGPIPE, SIG_IGN);  // a reader that goes away ends the watch
  // Seeds first: a bad one is a bad flag (exit 2) before we spend the timeout.
  auto parsed = d::ParseSeeds(o.peers);
  if (!parsed.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", parsed.status().message().c_str());
    return 2;
  }
  std::vector<d::Seed> seeds = std::move(*parsed);
  auto kind = d::ParseBackendKind(o.backend);
  if (!kind.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", kind.status().message().c_str());
    return 2;
  }
  std::string fingerprint;
  if (auto key = node::LoadSwarmKey(node::DefaultSwarmKeyPath()); key.ok() && *key) {
    fingerprint = (*key)->Fingerprint();
  } else {
    std::fprintf(stderr, "specswarm: %s\n", key.ok() ? node::NoSwarmKeyAdvice(node::DefaultSwarmKeyPath()).c_str()
                                                      : key.status().message().c_str());
  }
  std::string config = d::DefaultConfigPath();
  if (auto from_config = d::LoadConfigSeeds(config); from_config.ok())
    seeds.insert(seeds.end(), from_config->begin(), from_config->end());
  else
    std::fprintf(stderr, "specswarm: ignoring peers in %s\n", from_config.status().message().c_str());

  d::PeerDirectory directory;
  d::PeerCache cache(d::PeerCache::DefaultPath());
  // Cached peers first (most recently seen first), then seeds.
  if (!o.no_cache) {
    if (auto cached = cache.Load(); cached.ok()) {
      for (const d::CachedPeer& c : *cached)
        directory.AddCandidate(c.addresses.empty() ? c.host : c.addresses.front(), c.port,
                               d::PeerSource::kCache, c.id);
    } else {
      spdlog::debug("discovery: {}", cached.status().message());
    }
  }
  for (const d::Seed& s : seeds) directory.AddCandidate(s.host, s.port, d::PeerSource::kSeed);

  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
  d::ReachabilityProbe probe;
  std::vector<std::string> probed_keys;
  for (const d::Peer& p : directory.Peers()) {
    probe.Add(p.host, p.port);
    probed_keys.push_back(p.key);
  }

  std::unique_ptr<d::Backend> backend = d::MakeBackend(*kind);
  (void)backend->Start(&directory);
  // One zmq_poll loop over the backend's and the probe's descriptors, as node/ will run it.
  auto listen_until = [&](Clock::time_point until) {
    while (Clock::now() < until) {
      std::vector<zmq_pollitem_t> items;
      d::AppendPollItems(*backend, &items);
      for (const d::PollFd& p : probe.PollFds()) items.push_back({nullptr, p.fd, ZMQ_POLLOUT, 0});
      long left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      int t = backend->TimeoutMs();
      long wait = std::max(0L, t >= 0 ? std::min<long>(left, t) : left);
      zmq_poll(items.data(), static_cast<int>(items.size()), wait);
      backend->Process();
      probe.Process(deadline);
    }
  };
  listen_until(deadline);
  probe.Process(deadline);

  // The listing as it stands now: reachable rows, unreachable ones, and the likely reasons when
  // there is nothing. The cache is written the first time mDNS peers are seen (once: a watch
  // does not rewrite it every round).
  bool saved = false;
  auto take_listing = [&] {
    Listing l;
    for (const d::Peer& p : directory.Peers()) {
      Row row{p, true, ""};
      if (p.source != d::PeerSource::kMdns) {
        for (size_t i = 0; i < probed_keys.size(); ++i)
          if (probed_keys[i] == p.key) {
            row.reachable = probe.targets()[i].result.ok();
            row.why = probe.targets()[i].result.message();
          }
      }
      (row.reachable ? l.rows : l.unreachable).push_back(row);
    }
    bool saw_mdns = false;
    for (const Row& r : l.rows) saw_mdns |= r.peer.source == d::PeerSource::kMdns;
    if (!saved && !o.no_cache && saw_mdns) {
      saved = true;
      if (Status s = cache.Save(directory.Peers()); !s.ok()) spdlog::debug("discovery: {}", s.message());
    }
    if (l.rows.empty()) l.findings = d::Diagnose({directory.backend_state(), directory.backend_why(), !seeds.empty()});
    return l;
  };

  if (o.watch > 0) {
    // The browse goes on: one document per line every --watch seconds, until stdout closes.
    // Seeds and cached peers were probed once, above.
    for (;;) {
      const auto started = Clock::now();
      if (std::printf("%s\n", ListingJson(take_listing(), fingerprint).dump().c_str()) < 0 || std::fflush(stdout) != 0)
        return 0;
      listen_until(started + std::chrono::milliseconds(static_cast<long>(o.watch * 1000)));
    }
  }
  const Listing l = take_listing();
  if (o.json) {
    std::printf("%s\n", ListingJson(l, fingerprint).dump(2).c_str());
  } else {
    if (!l.rows.empty()) PrintTable(l.rows, fingerprint);
    for (const Row& r : l.unreachable)
      std::fprintf(stderr, "specswarm: %s peer %s: %s\n", d::ToString(r.peer.source), r.peer.Endpoint().c_str(),
                   r.why.c_str());
    if (l.rows.empty()) {
      std::fprintf(stderr, "specswarm: no peers found in %.1f s\n", o.timeout);
      for (const d::Finding& f : l.findings) std::fprintf(stderr, "  - %s\n    fix: %s\n", f.problem.c_str(), f.fix.c_str());
    }
  }
  return l.rows.empty() ? 1 : 0;
}

}  // namespace

void AddDiscoverCommand(CLI::App& app, CommandAction* chosen) {
  auto options = std::make_shared<DiscoverOptions>();
  CLI::App* cmd = app.add_subcommand("discover", "List the peers visible from this machine");
  cmd->add_option("--timeout", options->timeout, "Seconds to listen (default 2)")
      ->check(CLI::Range(0.1, 600.0));
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->add_option("--peer", options->peers, "Also try HOST:PORT (repeatable)");
  cmd->add_option("--backend", options->backend, "mDNS backend: avahi or dnssd (default avahi)");
  cmd->add_flag("--no-cache", options->no_cache, "Neither try nor update the last-seen peers");
  cmd->add_flag("-v,--verbose", options->verbose, "Say why records on the LAN were ignored");
  cmd->add_option("--watch", options->watch,
                  "With --json: keep listening, one document per line every SECONDS after the first --timeout, until stdout closes")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->callback([chosen, options] { *chosen = [options] { return RunDiscover(*options); }; });
}

}  // namespace specswarm::cli
