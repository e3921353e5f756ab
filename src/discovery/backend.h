// Backend: one mDNS/DNS-SD implementation (Avahi client, or the Bonjour dns_sd API) behind one
// small interface, so the rest of discovery never sees either library.
//
// A backend browses `_specswarm._tcp`, resolves every instance it sees and reports raw
// ServiceEvents to a BackendListener (the PeerDirectory); it also publishes this node's service
// and updates its TXT in place. It never blocks and never owns a thread: the caller's poll loop
// (zmq_poll with the ZeroMQ sockets) waits on PollFds() for at most TimeoutMs() and then calls
// Process(), which handles whatever is ready and fires the listener from that call only.
//
// When the daemon or the system bus is missing or goes away, the backend reports kUnavailable
// with the reason, keeps what the caller asked for (browse, the published service) and retries
// by itself; once it is running again it browses and publishes anew.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace specswarm::discovery {

// One resolved (or vanished) service instance as the library saw it on one interface and one
// address family. Several of these may describe the same node.
struct ServiceEvent {
  enum class Kind { kResolved, kRemoved };
  Kind kind = Kind::kResolved;
  std::string instance;   // DNS-SD instance name, e.g. "specswarm-ws12-4711"
  int interface = -1;     // interface index the library saw it on
  int family = 0;         // AF_INET / AF_INET6 of the lookup, 0 if the library does not say
  std::string host;       // target host name, e.g. "ws12.local"
  std::string address;    // one numeric address of that host, may be empty
  uint16_t port = 0;
  std::vector<std::string> txt;  // raw "key=value" items, unparsed
};

enum class BackendState {
  kStarting,     // connecting to the daemon
  kRunning,      // browsing (and publishing, if asked)
  kUnavailable,  // no daemon, no bus, or it went away: retrying
};

class BackendListener {
 public:
  virtual ~BackendListener() = default;
  virtual void OnService(const ServiceEvent& event) = 0;
  // `why` is one human line when state is kUnavailable.
  virtual void OnBackendState(BackendState state, const std::string& why) = 0;
};

// A file descriptor the caller's loop must watch, with poll(2) event bits (POLLIN/POLLOUT).
struct PollFd {
  int fd = -1;
  short events = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const char* name() const = 0;

  // Starts connecting and browsing; events go to `listener` (not owned, must outlive this).
  // Fails only on programming errors: a missing daemon is a state, not an error.
  virtual Status Start(BackendListener* listener) = 0;

  // Publishes `instance` on `port` with `txt`. A name collision is resolved by the library
  // with an alternative name. Re-published by the backend after a daemon restart.
  virtual Status Publish(const std::string& instance, uint16_t port,
                         const std::vector<std::string>& txt) = 0;
  // Replaces the TXT of the published service in place (same name, no re-registration).
  virtual Status UpdateTxt(const std::vector<std::string>& txt) = 0;
  // Withdraws the service; the daemon sends the goodbye packets.
  virtual void Unpublish() = 0;

  virtual BackendState state() const = 0;

  // Poll-loop integration. PollFds() may change after every Process().
  virtual std::vector<PollFd> PollFds() const = 0;
  virtual int TimeoutMs() const = 0;  // -1: no timer pending
  virtual void Process() = 0;
};

enum class BackendKind { kAvahi, kDnsSd };

std::unique_ptr<Backend> MakeAvahiBackend();
std::unique_ptr<Backend> MakeDnsSdBackend();
std::unique_ptr<Backend> MakeBackend(BackendKind kind);
// "avahi" or "dnssd"; the default is the native one for this platform.
Result<BackendKind> ParseBackendKind(const std::string& name);

}  // namespace specswarm::discovery
