#include "discovery/reachability.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace specswarm::discovery {

ReachabilityProbe::~ReachabilityProbe() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void ReachabilityProbe::Add(const std::string& host, uint16_t port) {
  Target t{host, port, Status::Error("not probed yet"), false};
  int fd = -1;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    t.result = Status::Error("cannot resolve " + host + ": " + gai_strerror(rc));
    t.done = true;
  } else {
    // The first address only: seeds are meant to be specific, and this keeps one fd per target.
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS)) {
      t.result = Status::Error(std::string("cannot connect: ") + std::strerror(errno));
      t.done = true;
      if (fd >= 0) close(fd);
      fd = -1;
    }
    freeaddrinfo(res);
  }
  targets_.push_back(std::move(t));
  fds_.push_back(fd);
}

std::vector<PollFd> ReachabilityProbe::PollFds() const {
  std::vector<PollFd> out;
  for (int fd : fds_)
    if (fd >= 0) out.push_back({fd, POLLOUT});
  return out;
}

void ReachabilityProbe::Process(std::chrono::steady_clock::time_point deadline) {
  bool late = std::chrono::steady_clock::now() >= deadline;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i] < 0) continue;
    pollfd p{fds_[i], POLLOUT, 0};
    if (poll(&p, 1, 0) > 0) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fds_[i], SOL_SOCKET, SO_ERROR, &err, &len);
      targets_[i].result = err == 0 ? Status::Ok()
                                    : Status::Error(std::string("cannot connect: ") + std::strerror(err));
    } else if (late) {
      targets_[i].result = Status::Error("no answer (connection timed out)");
    } else {
      continue;
    }
    targets_[i].done = true;
    close(fds_[i]);
    fds_[i] = -1;
  }
}

bool ReachabilityProbe::done() const {
  for (const Target& t : targets_)
    if (!t.done) return false;
  return true;
}

}  // namespace specswarm::discovery
