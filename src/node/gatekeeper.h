// Gatekeeper: the door of a node's ROUTER. Every link is CURVE with the swarm key
// (node/sockets.h), and the Gatekeeper is the ZAP handler (ZeroMQ RFC 27) that admits a client
// only when the key it presents is the swarm's; so a node without the key, or with another
// swarm's, can neither submit a run, fetch a pack, nor read a result. It is told nothing: its
// handshake simply never completes.
//
// It also watches the ROUTER's handshakes (a ZeroMQ socket monitor) so that refusals are logged:
// the first one in full, later ones counted and summed up at most every ten minutes, since a
// refused client retries ten times a second. A client that fails CURVE itself (no key, another
// swarm's, an old one) never reaches ZAP, so those refusals carry no address; ZAP denials do.
//
// Create it before the ROUTER binds (a handshake with no handler bound is not checked by ZAP) and
// destroy it after the ROUTER closes. Single-threaded: its two sockets join the owner's poll
// loop, and a handshake waits for the owner's next turn, which the owner keeps short.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "base/status.h"
#include "node/swarm_key.h"

namespace specswarm::node {

class Gatekeeper {
 public:
  // Binds the ZAP handler in `context` (one per context).
  static Result<std::unique_ptr<Gatekeeper>> Open(zmq::context_t& context, const SwarmKey& key);

  // Starts watching `router`'s handshakes.
  Status Watch(zmq::socket_t& router);

  // The sockets to poll for ZMQ_POLLIN.
  void AppendPollItems(std::vector<zmq_pollitem_t>* items);

  // Answers every waiting ZAP request and reads every monitor event, without blocking. Returns
  // the lines to log.
  std::vector<std::string> Service();

  int admitted() const { return admitted_; }
  int refused() const { return refused_; }

 private:
  Gatekeeper(zmq::context_t& context, const SwarmKey& key);
  void AnswerZap(std::vector<std::string>* log);
  void ReadMonitor(std::vector<std::string>* log);
  // Counts a refusal; logs `line` only when it is the first of its kind.
  void Refused(bool first, const std::string& line, std::vector<std::string>* log);

  zmq::context_t& context_;
  std::string public_key_;  // 32 bytes, as ZAP presents it
  zmq::socket_t zap_;
  std::optional<zmq::socket_t> monitor_;
  int admitted_ = 0;
  int refused_ = 0;
  std::set<std::string> denied_addresses_;  // ZAP denials already logged
  bool logged_handshake_failure_ = false;  // a failed CURVE handshake or a hang-up during one
  int unlogged_ = 0;                         // refusals since the last line
  std::chrono::steady_clock::time_point last_line_{};
};

}  // namespace specswarm::node
