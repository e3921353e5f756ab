// LabNode: a discovery_test_node running inside a NetnsLab host, seen from the test. It keeps
// every JSON event the node printed and the node's latest view of each peer, and waits for
// conditions with deadlines (never sleeps for a fixed time to "let things settle").
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netns_lab.h"

namespace specswarm::testing {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// CLOCK_MONOTONIC in milliseconds: the clock the node stamps its events with.
double MonotonicMs();

class LabNode {
 public:
  struct Options {
    std::string backend = "avahi";
    std::string id;          // empty: browse only
    int port = 7000;
    int slots = 4;
    int idle = 4;
    std::string name;        // instance name; empty: the node's default
    bool browse = true;
    bool listen = false;
  };
  static std::optional<LabNode> Start(NetnsLab& lab, int host, const Options& options);

  // Reads events until `pred` holds for one of them or `timeout` passes; returns that event.
  std::optional<json> WaitFor(const std::function<bool(const json&)>& pred,
                              std::chrono::milliseconds timeout);
  // Reads whatever arrives within `window`.
  void Drain(std::chrono::milliseconds window);

  std::optional<json> WaitForPeer(const std::string& id, std::chrono::milliseconds timeout);
  // The node's current view of `id` (after the events read so far), if present.
  std::optional<json> Peer(const std::string& id) const;
  const std::vector<json>& events() const { return events_; }
  bool Send(const std::string& line) { return child_->Write(line + "\n"); }
  ChildProcess& process() { return *child_; }
  double published_at() const { return published_at_; }

 private:
  explicit LabNode(ChildProcess child) : child_(std::move(child)) {}
  void Apply(const json& e);
  std::optional<ChildProcess> child_;
  std::vector<json> events_;
  std::map<std::string, json> peers_;
  double published_at_ = 0;
};

}  // namespace specswarm::testing
