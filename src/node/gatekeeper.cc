#include "node/gatekeeper.h"

#include <zmq.h>

#include <atomic>
#include <cstring>

namespace specswarm::node {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // fixed by RFC 27
constexpr auto kSummaryEvery = std::chrono::minutes(10);

std::vector<std::string> ReceiveParts(zmq::socket_t& socket) {
  std::vector<std::string> parts;
  zmq::message_t part;
  if (!socket.recv(part, zmq::recv_flags::dontwait)) return parts;
  parts.push_back(part.to_string());
  while (socket.get(zmq::sockopt::rcvmore)) {
    if (!socket.recv(part, zmq::recv_flags::dontwait)) break;
    parts.push_back(part.to_string());
  }
  return parts;
}

}  // namespace

Gatekeeper::Gatekeeper(zmq::context_t& context, const SwarmKey& key)
    : context_(context), zap_(context, zmq::socket_type::rep) {
  public_key_.resize(32);
  zmq_z85_decode(reinterpret_cast<uint8_t*>(public_key_.data()), key.public_z85.c_str());
  zap_.set(zmq::sockopt::linger, 0);
}

Result<std::unique_ptr<Gatekeeper>> Gatekeeper::Open(zmq::context_t& context, const SwarmKey& key) {
  try {
    std::unique_ptr<Gatekeeper> gate(new Gatekeeper(context, key));
    gate->zap_.bind(kZapEndpoint);
    return gate;
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot start the swarm's access check (ZAP): ") + e.what());
  }
}

Status Gatekeeper::Watch(zmq::socket_t& router) {
  static std::atomic<int> counter{0};
  const std::string endpoint = "inproc://specswarm-gatekeeper-" + std::to_string(counter++);
  const int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
  if (zmq_socket_monitor(router.handle(), endpoint.c_str(), events) != 0)
    return Status::Error(std::string("cannot watch the node's handshakes: ") + zmq_strerror(zmq_errno()));
  try {
    monitor_.emplace(context_, zmq::socket_type::pair);
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot watch the node's handshakes: ") + e.what());
  }
  return Status::Ok();
}

void Gatekeeper::AppendPollItems(std::vector<zmq_pollitem_t>* items) {
  items->push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
  if (monitor_) items->push_back({monitor_->handle(), 0, ZMQ_POLLIN, 0});
}

std::vector<std::string> Gatekeeper::Service() {
  std::vector<std::string> log;
  AnswerZap(&log);
  ReadMonitor(&log);
  if (unlogged_ > 0 && std::chrono::steady_clock::now() - last_line_ >= kSummaryEvery) {
    log.push_back("refused " + std::to_string(unlogged_) + " more connection" + (unlogged_ == 1 ? "" : "s") +
                  " without this swarm's key in the last " +
                  std::to_string(std::chrono::duration_cast<std::chrono::minutes>(kSummaryEvery).count()) + " minutes");
    unlogged_ = 0;
    last_line_ = std::chrono::steady_clock::now();
  }
  return log;
}

void Gatekeeper::Refused(bool first, const std::string& line, std::vector<std::string>* log) {
  ++refused_;
  if (!first) {
    ++unlogged_;
    return;
  }
  log->push_back(line);
  last_line_ = std::chrono::steady_clock::now();
}

void Gatekeeper::AnswerZap(std::vector<std::string>* log) {
  for (;;) {
    // version, request id, domain, address, routing id, mechanism, credentials...
    std::vector<std::string> request = ReceiveParts(zap_);
    if (request.empty()) return;
    const std::string request_id = request.size() > 1 ? request[1] : "";
    const bool member = request.size() == 7 && request[0] == "1.0" && request[5] == "CURVE" && request[6] == public_key_;
    std::string address = request.size() > 3 ? request[3] : "?";
    if (address.rfind("::ffff:", 0) == 0) address.erase(0, 7);  // an IPv4 peer on a dual-stack socket
    if (member) {
      ++admitted_;
    } else {
      const bool first = denied_addresses_.insert(address).second && denied_addresses_.size() <= 1000;
      Refused(first, "refused a connection from " + address + ": it does not hold this swarm's key", log);
    }
    const std::vector<std::string> reply = {"1.0", request_id, member ? "200" : "400",
                                            member ? "OK" : "not a member of this swarm", "", ""};
    for (size_t i = 0; i < reply.size(); ++i) {
      (void)zap_.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
}

void Gatekeeper::ReadMonitor(std::vector<std::string>* log) {
  if (!monitor_) return;
  for (;;) {
    std::vector<std::string> event = ReceiveParts(*monitor_);
    if (event.empty()) return;
    if (event[0].size() < 6) continue;
    uint16_t kind = 0;
    std::memcpy(&kind, event[0].data(), sizeof kind);
    // A ZAP denial is also a failed handshake; AnswerZap has counted it already.
    if (kind != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && kind != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) continue;
    // PROTOCOL: the client's CURVE did not match ours (another swarm's key, an old one, none).
    // NO_DETAIL: the client hung up mid-handshake; a client without CURVE often sees the
    // mismatch first and does so, and a port check (`discover`, a scanner) looks the same. One
    // line for both: a client without the key causes either, at random.
    const bool first = !logged_handshake_failure_;
    logged_handshake_failure_ = true;
    Refused(first,
            kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                ? "refused a connection that did not complete the handshake with this swarm's key (a node of "
                  "another swarm, with an old key, or with none; later refusals are counted)"
                : "refused a connection that hung up during the handshake (a node without this swarm's key, or a "
                  "port check such as `specswarm discover`; later ones are counted)",
            log);
  }
}

}  // namespace specswarm::node
