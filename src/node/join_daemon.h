// JoinDaemon: `specswarm join`, this machine's node in the swarm. It serves one ROUTER socket,
// advertises itself over mDNS with `idle` kept current, and offers its slots to coordinators:
// each accepted run becomes a ServedRun holding a share of the slots (never more busy slots
// than offered, however many runs). It answers status queries with what it knows of itself and
// of the peers it sees. Stop() (SIGINT/SIGTERM) hands every run's units back, says goodbye on
// mDNS and returns.
//
// One poll loop for everything: the socket, every run's worker pipes, discovery's descriptors.
// Single-threaded (a run's preparation has its own thread, see served_run.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "discovery/seed_list.h"
#include "node/served_run.h"
#include "node/swarm_key.h"

namespace specswarm::discovery {
class Advertiser;
class Backend;
class PeerDirectory;
}  // namespace specswarm::discovery

namespace specswarm::node {

class Gatekeeper;

struct JoinOptions {
  int slots = 1;
  int port = 7070;
  std::vector<discovery::Seed> peers;  // extra peers to list in status (networks without mDNS)
  std::string state_dir;
  std::string host;                    // the name peers and results show
  std::string version;
  bool mdns = true;
  int proto = kProtocolVersion;        // tests pose as another version
  SwarmKey key;                        // membership: every link is CURVE with it
};

class JoinDaemon {
 public:
  explicit JoinDaemon(JoinOptions options);
  ~JoinDaemon();

  // Binds the port, checks Ruby, advertises. An error is one line for the user.
  Status Start();
  // Serves until Stop(); then leaves gracefully.
  void Serve();
  // Async-signal-safe.
  static void Stop();

  int port() const { return port_; }
  const std::string& id() const { return id_; }

 private:
  void HandleMessage(const std::string& from, const Message& message);
  void Offered(const std::string& from, const OfferMsg& offer);
  int Idle() const;
  int FirstFreeSlot(int count) const;
  void UpdateAdvert();
  nlohmann::json StatusJson() const;
  HelloMsg Hello() const;

  JoinOptions options_;
  std::string id_;
  int port_ = 0;
  std::string ruby_version_;  // "" when there is no ruby
  std::string why_not_;       // why this node takes no work at all
  zmq::context_t context_{1};
  std::unique_ptr<Gatekeeper> gatekeeper_;  // outlives router_ (declared before it)
  std::optional<zmq::socket_t> router_;
  std::unique_ptr<discovery::Backend> backend_;
  std::unique_ptr<discovery::PeerDirectory> directory_;
  std::unique_ptr<discovery::Advertiser> advertiser_;
  PeerContext context_for_runs_;
  std::map<std::string, std::unique_ptr<ServedRun>> runs_;  // by run id
  std::map<std::string, std::string> refused_;              // sender -> last reason logged
  int advertised_idle_ = -1;
};

}  // namespace specswarm::node
