// Discovery benchmark on a namespace LAN (tests/discovery/netns_lab.h), real avahi-daemons:
//   1. time from a node publishing until 1 peer has it in its directory;
//   2. the same for 10 peers (each its own host and daemon): median peer and last peer;
//   3. TXT update latency: `idle` changed on the node until the peer's directory shows it.
// Times come from the nodes' CLOCK_MONOTONIC stamps. Prints medians over RUNS runs.
//   discovery_bench [RUNS] [avahi|dnssd]
#include <algorithm>
#include <cstdlib>
#include <thread>
#include <cstdio>
#include <string>
#include <vector>

#include "lab_node.h"
#include "netns_lab.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;

namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

std::unique_ptr<NetnsLab> Lab(const std::string& name, int hosts) {
  auto lab = NetnsLab::Create(name, hosts);
  if (!lab.ok()) {
    std::fprintf(stderr, "%s\n", lab.status().message().c_str());
    std::exit(1);
  }
  if (auto s = (*lab)->StartAllDaemons(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    std::exit(1);
  }
  return std::move(*lab);
}

// Starts a fresh node on host 1 per run and measures when each observer lists it.
void TimeToSeen(const std::string& backend, int peers, int runs) {
  auto lab = Lab("bench" + std::to_string(peers), peers + 1);
  std::vector<LabNode> observers;
  for (int h = 2; h <= peers + 1; ++h) {
    auto o = LabNode::Start(*lab, h, {.backend = backend, .id = "", .port = 0, .slots = 1,
                                      .idle = 1, .name = "", .browse = true, .listen = false});
    if (!o) std::exit(1);
    observers.push_back(std::move(*o));
  }
  std::vector<double> median_peer, last_peer;
  for (int run = 0; run < runs; ++run) {
    std::string id = "fresh" + std::to_string(run);
    auto node = LabNode::Start(*lab, 1, {.backend = backend, .id = id, .port = 7000 + run,
                                         .slots = 4, .idle = 4, .name = "", .browse = false,
                                         .listen = false});
    if (!node) std::exit(1);
    std::vector<double> seen;
    for (LabNode& o : observers) {
      auto e = o.WaitForPeer(id, 10s);
      if (e) seen.push_back((*e)["t"].get<double>() - node->published_at());
    }
    if (seen.size() != observers.size()) std::fprintf(stderr, "run %d: only %zu peers saw it\n", run, seen.size());
    median_peer.push_back(Median(seen));
    last_peer.push_back(*std::max_element(seen.begin(), seen.end()));
    node->Send("quit");
    for (LabNode& o : observers)
      o.WaitFor([&](const json& e) { return e["event"] == "removed" && e["id"] == id; }, 5s);
  }
  std::printf("%-6s new node seen by %2d peer(s): median peer %6.0f ms, last peer %6.0f ms "
              "(medians of %d runs; last-peer range %.0f-%.0f ms)\n",
              backend.c_str(), peers, Median(median_peer), Median(last_peer), runs,
              *std::min_element(last_peer.begin(), last_peer.end()),
              *std::max_element(last_peer.begin(), last_peer.end()));
}

void TxtUpdateLatency(const std::string& backend, int samples) {
  auto lab = Lab("benchtxt", 2);
  auto node = LabNode::Start(*lab, 1, {.backend = backend, .id = "worker", .port = 7001, .slots = 64,
                                       .idle = 64, .name = "", .browse = false, .listen = false});
  auto observer = LabNode::Start(*lab, 2, {.backend = backend, .id = "", .port = 0, .slots = 1,
                                           .idle = 1, .name = "", .browse = true, .listen = false});
  if (!node || !observer || !observer->WaitForPeer("worker", 5s)) std::exit(1);
  std::vector<double> latency;
  for (int i = 0; i < samples; ++i) {
    int idle = i % 64;
    node->Send("idle " + std::to_string(idle));
    auto set = node->WaitFor([](const json& e) { return e["event"] == "idle-set"; }, 2s);
    auto seen = observer->WaitFor([&](const json& e) {
      return e["event"] == "updated" && e["id"] == "worker" && e["idle"] == idle;
    }, 3s);
    if (set && seen) latency.push_back((*seen)["t"].get<double>() - (*set)["t"].get<double>());
    else std::fprintf(stderr, "update %d not seen\n", i);
    std::this_thread::sleep_for(100ms);  // a node changes idle at most a few times a second
  }
  std::printf("%-6s TXT (idle) update latency: median %.1f ms, p90 %.1f ms, max %.1f ms "
              "(%zu of %d updates seen)\n",
              backend.c_str(), Median(latency), Percentile(latency, 0.9),
              latency.empty() ? -1 : *std::max_element(latency.begin(), latency.end()),
              latency.size(), samples);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 7;
  std::string backend = argc > 2 ? argv[2] : "avahi";
  TimeToSeen(backend, 1, runs);
  TimeToSeen(backend, 10, runs);
  TxtUpdateLatency(backend, 30);
  return 0;
}
