#include "lab_node.h"

#include <ctime>

namespace specswarm::testing {

double MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

std::optional<LabNode> LabNode::Start(NetnsLab& lab, int host, const Options& o) {
  std::vector<std::string> argv{DISCOVERY_TEST_NODE, "--backend", o.backend, "--port",
                                std::to_string(o.port), "--slots", std::to_string(o.slots),
                                "--idle", std::to_string(o.idle), "-v"};
  if (!o.id.empty()) argv.insert(argv.end(), {"--advertise", "--id", o.id});
  if (!o.name.empty()) argv.insert(argv.end(), {"--name", o.name});
  if (o.browse) argv.push_back("--browse");
  if (o.listen) argv.push_back("--listen");
  static int count = 0;
  std::string log = "node-h" + std::to_string(host) + "-" + std::to_string(++count) + ".log";
  auto child = lab.Spawn(host, argv, log);
  if (!child) return std::nullopt;
  LabNode node(std::move(*child));
  if (!o.id.empty()) {
    auto published = node.WaitFor([](const json& e) { return e["event"] == "published"; },
                                  std::chrono::seconds(5));
    if (!published) return std::nullopt;
    node.published_at_ = (*published)["t"].get<double>();
  }
  return node;
}

void LabNode::Apply(const json& e) {
  events_.push_back(e);
  const std::string kind = e.value("event", "");
  if (kind == "added" || kind == "updated") peers_[e["key"]] = e;
  else if (kind == "removed") peers_.erase(e["key"].get<std::string>());
}

std::optional<json> LabNode::WaitFor(const std::function<bool(const json&)>& pred,
                                     std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (auto line = child_->ReadLine(deadline)) {
    json e = json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (e.is_discarded()) continue;
    Apply(e);
    if (pred(e)) return e;
  }
  return std::nullopt;
}

void LabNode::Drain(std::chrono::milliseconds window) {
  WaitFor([](const json&) { return false; }, window);
}

std::optional<json> LabNode::WaitForPeer(const std::string& id, std::chrono::milliseconds timeout) {
  if (auto p = Peer(id)) return p;
  return WaitFor([&](const json& e) {
    return (e["event"] == "added" || e["event"] == "updated") && e.value("id", "") == id;
  }, timeout);
}

std::optional<json> LabNode::Peer(const std::string& id) const {
  auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace specswarm::testing
