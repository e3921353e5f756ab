// discovery_test_node: one specswarm node's discovery, driven by the network tests from inside
// a namespace. It advertises and/or browses with the chosen backend and prints every directory
// event as one JSON line on stdout, stamped with CLOCK_MONOTONIC milliseconds (the same clock
// in every namespace, so the test can compare times across hosts). Commands on stdin, one per
// line: `idle N`, `stop` (withdraw), `quit`. EOF on stdin also quits, so a test that dies takes
// its nodes with it. With --listen it binds a ZeroMQ ROUTER on --port and polls it in the
// same zmq_poll as the discovery descriptors and stdin, as node/'s loop will.
//
//   discovery_test_node --backend avahi --advertise --id n1 --port 7001 --slots 4 --idle 4 --browse
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "discovery/advertiser.h"
#include "discovery/backend.h"
#include "discovery/peer_directory.h"
#include "discovery/poll_loop.h"

using namespace specswarm::discovery;
using specswarm::Status;
using nlohmann::json;

namespace {

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void Print(json j) {
  j["t"] = NowMs();
  std::cout << j.dump() << std::endl;
}

json PeerJson(const Peer& p) {
  json j{{"key", p.key}, {"id", p.id}, {"host", p.host}, {"addresses", p.addresses},
         {"port", p.port}, {"source", ToString(p.source)}, {"instance", p.instance}};
  if (p.advert) {
    j["ver"] = p.advert->ver;
    j["slots"] = p.advert->slots;
    j["idle"] = p.advert->idle;
    j["proto"] = p.advert->proto;
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"discovery test node"};
  std::string backend_name = "avahi", instance;
  bool advertise = false, browse = false, listen_tcp = false, verbose = false;
  NodeAdvert advert{.proto = 1, .id = "", .ver = "0.1.0", .slots = 4, .idle = 4, .key = ""};
  int port = 7000;
  app.add_option("--backend", backend_name);
  app.add_flag("--advertise", advertise);
  app.add_flag("--browse", browse);
  app.add_flag("--listen", listen_tcp, "bind a ZeroMQ ROUTER on --port (what seeds are probed on)");
  app.add_flag("-v,--verbose", verbose);
  app.add_option("--id", advert.id);
  app.add_option("--name", instance);
  app.add_option("--port", port);
  app.add_option("--slots", advert.slots);
  app.add_option("--idle", advert.idle);
  app.add_option("--proto", advert.proto);
  app.add_option("--ver", advert.ver);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("node"));  // stdout carries the events
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);

  auto kind = ParseBackendKind(backend_name);
  if (!kind.ok()) {
    std::fprintf(stderr, "%s\n", kind.status().message().c_str());
    return 2;
  }
  std::unique_ptr<Backend> backend = MakeBackend(*kind);
  PeerDirectory directory;
  directory.set_self_id(advert.id);
  directory.set_listener([&](const PeerEvent& e) {
    if (!browse) return;
    json j = PeerJson(e.peer);
    j["event"] = ToString(e.kind);
    Print(j);
  });
  directory.set_ignored_listener([&](const std::string& inst, const std::string& why) {
    Print({{"event", "ignored"}, {"instance", inst}, {"why", why}});
  });
  directory.set_state_listener([&](BackendState s, const std::string& why) {
    const char* names[] = {"starting", "running", "unavailable"};
    Print({{"event", "state"}, {"state", names[static_cast<int>(s)]}, {"why", why}});
  });
  if (Status s = backend->Start(&directory); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  // The node's ZeroMQ port, polled in the same zmq_poll as the discovery descriptors: the loop
  // node/ will run.
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  if (listen_tcp) router.bind("tcp://*:" + std::to_string(port));
  Advertiser advertiser(backend.get());
  if (advertise) {
    if (Status s = advertiser.Start(advert, static_cast<uint16_t>(port), instance); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
    Print({{"event", "published"}, {"id", advert.id}});
  }

  std::string pending;
  for (;;) {
    std::vector<zmq_pollitem_t> items{{nullptr, STDIN_FILENO, ZMQ_POLLIN, 0}};
    if (listen_tcp) items.push_back({router.handle(), 0, ZMQ_POLLIN, 0});
    AppendPollItems(*backend, &items);
    int timeout = backend->TimeoutMs();
    zmq_poll(items.data(), static_cast<int>(items.size()), timeout < 0 ? 1000 : timeout);
    if (listen_tcp && (items[1].revents & ZMQ_POLLIN)) {
      std::vector<zmq::message_t> frames;  // the protocol is node/'s; answer nothing
      (void)zmq::recv_multipart(router, std::back_inserter(frames), zmq::recv_flags::dontwait);
    }
    if (items[0].revents & ZMQ_POLLIN) {
      char buf[512];
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      bool quit = false;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.rfind("idle ", 0) == 0) {
          Status s = advertiser.SetIdle(std::stoi(line.substr(5)));
          Print({{"event", "idle-set"}, {"ok", s.ok()}, {"why", s.message()}});
        } else if (line == "stop") {
          advertiser.Stop();
          Print({{"event", "stopped"}});
        } else if (line == "quit") {
          quit = true;
        }
      }
      if (quit) break;
    }
    backend->Process();
  }
  advertiser.Stop();
  backend.reset();  // frees the client: the daemon sends goodbye for our records
  return 0;
}
