// ReachabilityProbe: checks which candidate peers (seeds, cached peers) accept a TCP connection
// on their port, all at once and without blocking: its sockets go into the caller's poll loop
// like the backend's. A connection that opens proves a listener there, not that it is a
// specswarm node; node/'s hello proves the rest.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "discovery/backend.h"

namespace specswarm::discovery {

class ReachabilityProbe {
 public:
  struct Target {
    std::string host;  // name or numeric address
    uint16_t port = 0;
    Status result = Status::Error("not probed yet");
    bool done = false;
  };

  ReachabilityProbe() = default;
  ~ReachabilityProbe();
  ReachabilityProbe(const ReachabilityProbe&) = delete;
  ReachabilityProbe& operator=(const ReachabilityProbe&) = delete;

  // Resolves `host` (getaddrinfo: may block on DNS for names) and starts connecting.
  void Add(const std::string& host, uint16_t port);

  std::vector<PollFd> PollFds() const;
  // Finishes the connects that completed; those still pending at `deadline` fail as timed out.
  void Process(std::chrono::steady_clock::time_point deadline);
  bool done() const;
  const std::vector<Target>& targets() const { return targets_; }

 private:
  std::vector<Target> targets_;
  std::vector<int> fds_;  // parallel to targets_, -1 once done
};

}  // namespace specswarm::discovery
