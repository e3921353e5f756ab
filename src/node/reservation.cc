#include "node/reservation.h"

#include <fstream>

#include "node/protocol.h"
#include "node/sockets.h"

namespace specswarm::node {

int Reservation::RecordedPort(const std::string& state_dir) {
  int port = 0;
  std::ifstream(state_dir + "/port") >> port;
  return port > 0 && port <= 65535 ? port : 0;
}

std::optional<Reservation> Reservation::Ask(zmq::context_t& context, const std::string& state_dir, const SwarmKey& key,
                                            const std::string& run_id, const std::string& host, int wanted,
                                            std::chrono::milliseconds timeout) {
  const int port = RecordedPort(state_dir);
  if (port == 0) return std::nullopt;
  auto socket = ConnectClient(context, TcpEndpoint("127.0.0.1", port), &key);
  if (!socket.ok()) return std::nullopt;
  OfferMsg offer;
  offer.run_id = run_id;
  offer.coordinator_host = host;
  offer.slots_wanted = wanted;
  offer.reserve_only = true;
  Send(*socket, offer);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    zmq_pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    zmq_poll(&item, 1, std::max<long>(1, left.count()));
    while (auto received = Receive(*socket)) {
      if (!received->message.ok()) continue;
      if (auto* accept = std::get_if<AcceptMsg>(&*received->message); accept && accept->run_id == run_id) {
        return Reservation(std::move(*socket), run_id, accept->slots);
      }
      if (auto* decline = std::get_if<DeclineMsg>(&*received->message); decline && decline->run_id == run_id) {
        return Reservation(std::move(*socket), "", 0);
      }
    }
  }
  return std::nullopt;  // a stale port file: no node answers there
}

Reservation::~Reservation() { Release(); }

void Reservation::Tick() {
  if (!socket_ || run_id_.empty()) return;
  while (Receive(*socket_)) {
  }  // the node's heartbeats: nothing to act on
  if (std::chrono::steady_clock::now() - last_sent_ < std::chrono::duration<double>(kHeartbeatInterval)) return;
  Send(*socket_, HeartbeatMsg{run_id_});
  last_sent_ = std::chrono::steady_clock::now();
}

void Reservation::Release() {
  if (!socket_) return;
  if (!run_id_.empty()) {
    Send(*socket_, CancelMsg{run_id_, "the run is over"});
    zmq_pollitem_t item{socket_->handle(), 0, ZMQ_POLLOUT, 0};
    zmq_poll(&item, 1, 100);  // let the message leave before the socket closes
  }
  socket_.reset();
}

}  // namespace specswarm::node
