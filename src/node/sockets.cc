#include "node/sockets.h"

namespace specswarm::node {
namespace {

void CommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxFrameBytes));
  socket.set(zmq::sockopt::tcp_keepalive, 1);
  socket.set(zmq::sockopt::ipv6, 1);
  // No high-water mark: a ROUTER drops what exceeds it without a word, and a lost result or
  // request would stall a slot. What queues is bounded by the run; a dead link is found by the
  // heartbeats within seconds.
  socket.set(zmq::sockopt::sndhwm, 0);
  socket.set(zmq::sockopt::rcvhwm, 0);
}

Result<Message> DecodeFrame(const zmq::message_t& frame) {
  return Decode(std::string_view(static_cast<const char*>(frame.data()), frame.size()));
}

}  // namespace

std::string TcpEndpoint(const std::string& address, int port) {
  if (address.find(':') != std::string::npos) return "tcp://[" + address + "]:" + std::to_string(port);
  return "tcp://" + address + ":" + std::to_string(port);
}

Result<zmq::socket_t> BindServer(zmq::context_t& context, int port, const SwarmKey* key) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::router);
    CommonOptions(socket);
    if (key) {
      socket.set(zmq::sockopt::curve_server, 1);
      socket.set(zmq::sockopt::curve_secretkey, key->secret_z85);
      socket.set(zmq::sockopt::zap_domain, "specswarm");
    }
    // A peer that reconnects under the same identity replaces the old connection.
    socket.set(zmq::sockopt::router_handover, 1);
    socket.bind("tcp://*:" + std::to_string(port));
    return socket;
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot listen on port " + std::to_string(port) + ": " + e.what() +
                         (e.num() == EADDRINUSE ? " (another specswarm join? choose another with --port)" : ""));
  }
}

int BoundPort(zmq::socket_t& socket) {
  std::string endpoint = socket.get(zmq::sockopt::last_endpoint);
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

Result<zmq::socket_t> ConnectClient(zmq::context_t& context, const std::string& endpoint, const SwarmKey* key) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    CommonOptions(socket);
    if (key) {
      // Members share one keypair: the client proves membership by holding its secret, and
      // knows the server is a member because only members can answer to that public key.
      socket.set(zmq::sockopt::curve_serverkey, key->public_z85);
      socket.set(zmq::sockopt::curve_publickey, key->public_z85);
      socket.set(zmq::sockopt::curve_secretkey, key->secret_z85);
    }
    socket.connect(endpoint);
    return socket;
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot connect to " + endpoint + ": " + e.what());
  }
}

bool Send(zmq::socket_t& dealer, const Message& message) {
  std::string bytes = Encode(message);
  try {
    return dealer.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

bool SendTo(zmq::socket_t& router, const std::string& routing_id, const Message& message) {
  std::string bytes = Encode(message);
  try {
    if (!router.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    return router.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

std::optional<Received> ReceiveFrom(zmq::socket_t& router) {
  zmq::message_t id;
  if (!router.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
  Received received;
  received.routing_id.assign(static_cast<const char*>(id.data()), id.size());
  // A ROUTER hands us [id, frames...]: exactly one frame is a message; more is malformed.
  zmq::message_t frame;
  int frames = 0;
  while (router.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    (void)router.recv(part, zmq::recv_flags::dontwait);
    if (frames++ == 0) frame = std::move(part);
  }
  received.message = frames == 1 ? DecodeFrame(frame) : Result<Message>(Status::Error("a message must be one frame"));
  return received;
}

std::optional<Received> Receive(zmq::socket_t& dealer) {
  zmq::message_t frame;
  if (!dealer.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
  Received received;
  bool more = dealer.get(zmq::sockopt::rcvmore);
  while (dealer.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    (void)dealer.recv(part, zmq::recv_flags::dontwait);
  }
  received.message = more ? Result<Message>(Status::Error("a message must be one frame")) : DecodeFrame(frame);
  return received;
}

}  // namespace specswarm::node
