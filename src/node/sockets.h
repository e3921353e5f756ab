// Sockets: the one place the swarm creates ZeroMQ sockets, so every link gets the same options
// (no linger, a bounded message size, TCP keepalive) and the same security: CURVE with the swarm
// key on both ends (node/swarm_key.h). The server also needs a Gatekeeper (node/gatekeeper.h) in
// its context, which admits only clients presenting the key.
//
// A node serves one ROUTER (`join`); a coordinator or a status client opens one DEALER per peer.
// Send/Receive move one protocol message per frame and never block. Queues have no high-water
// mark, so nothing is dropped while a link is up; what a broken link loses, the protocol
// recovers: leases missing from a peer's heartbeat go back to the queue, and a peer asks again
// for work it did not get.
// Not thread-safe (ZeroMQ sockets are not).
#pragma once

#include <optional>
#include <string>

#include <zmq.hpp>

#include "base/status.h"
#include "node/protocol.h"
#include "node/swarm_key.h"

namespace specswarm::node {

// "tcp://HOST:PORT" with IPv6 literals bracketed and a link-local scope kept ("fe80::1%eth0").
std::string TcpEndpoint(const std::string& address, int port);

// `key` is the swarm key every link uses. nullptr leaves a link in plain text: only the benches
// do that, to measure what CURVE costs; `join`, `run` and `status` never do.
//
// The node's ROUTER, bound on every interface at `port` (0: a free port, see BoundPort).
Result<zmq::socket_t> BindServer(zmq::context_t& context, int port, const SwarmKey* key);
int BoundPort(zmq::socket_t& socket);
// A DEALER connected to `endpoint`.
Result<zmq::socket_t> ConnectClient(zmq::context_t& context, const std::string& endpoint, const SwarmKey* key);

bool Send(zmq::socket_t& dealer, const Message& message);
bool SendTo(zmq::socket_t& router, const std::string& routing_id, const Message& message);

// One frame received without blocking: nothing (none waiting), or the decoded message or why it
// could not be decoded, with the sender's routing id on a ROUTER.
struct Received {
  std::string routing_id;
  Result<Message> message = Status::Error("nothing received");
};
std::optional<Received> ReceiveFrom(zmq::socket_t& router);
std::optional<Received> Receive(zmq::socket_t& dealer);

}  // namespace specswarm::node
