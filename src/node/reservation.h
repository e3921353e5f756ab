// Reservation: a run's claim on this machine's own slots, when this machine also runs `join`
// (one machine, one budget). Before starting its local slots, the run asks the local node for
// them (OfferMsg::reserve_only); the node counts what it granted as busy, so it neither offers
// them to other coordinators nor grants them to a second run here, and advertises fewer idle.
// The claim lives as long as the run heartbeats; Release() (or the destructor) returns it.
//
// Owns its DEALER socket. Single-threaded: the run's loop calls Tick().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <zmq.hpp>

#include "base/status.h"
#include "node/swarm_key.h"

namespace specswarm::node {

class Reservation {
 public:
  // Asks the node whose port is recorded in `state_dir` for `wanted` slots, waiting at most
  // `timeout`. Nothing (no error) when no node runs here; otherwise the slots granted (0: all
  // busy with other runs). The node admits only holders of its swarm key, like every node.
  static std::optional<Reservation> Ask(zmq::context_t& context, const std::string& state_dir, const SwarmKey& key,
                                        const std::string& run_id, const std::string& host, int wanted,
                                        std::chrono::milliseconds timeout);
  // The port a `join` on this machine recorded in `state_dir`, 0 when none did.
  static int RecordedPort(const std::string& state_dir);

  Reservation(Reservation&& other) noexcept { *this = std::move(other); }
  Reservation& operator=(Reservation&& other) noexcept {
    Release();
    socket_ = std::move(other.socket_);
    other.socket_.reset();
    run_id_ = std::move(other.run_id_);
    granted_ = other.granted_;
    return *this;
  }
  ~Reservation();

  int granted() const { return granted_; }
  void Tick();     // heartbeats
  void Release();

 private:
  Reservation(zmq::socket_t socket, std::string run_id, int granted)
      : socket_(std::move(socket)), run_id_(std::move(run_id)), granted_(granted) {}
  Reservation() = default;
  std::optional<zmq::socket_t> socket_;
  std::string run_id_;
  int granted_ = 0;
  std::chrono::steady_clock::time_point last_sent_ = std::chrono::steady_clock::now();
};

}  // namespace specswarm::node
