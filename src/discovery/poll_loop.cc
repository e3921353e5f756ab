#include "discovery/poll_loop.h"

#include <poll.h>

#include <algorithm>

namespace specswarm::discovery {

void AppendPollItems(const Backend& backend, std::vector<zmq_pollitem_t>* items) {
  for (const PollFd& p : backend.PollFds()) {
    // ZMQ_POLLIN/OUT are not POLLIN/POLLOUT's values: translate.
    short events = 0;
    if (p.events & POLLIN) events |= ZMQ_POLLIN;
    if (p.events & POLLOUT) events |= ZMQ_POLLOUT;
    items->push_back(zmq_pollitem_t{nullptr, p.fd, events, 0});
  }
}

void PumpOnce(Backend& backend, std::chrono::milliseconds max_wait) {
  std::vector<zmq_pollitem_t> items;
  AppendPollItems(backend, &items);
  long wait = max_wait.count();
  if (int t = backend.TimeoutMs(); t >= 0) wait = std::min<long>(wait, t);
  zmq_poll(items.data(), static_cast<int>(items.size()), wait);  // EINTR: just process
  backend.Process();
}

bool PumpUntil(Backend& backend, std::chrono::steady_clock::time_point deadline,
               const std::function<bool()>& done) {
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    PumpOnce(backend, std::min(left, std::chrono::milliseconds(200)));
  }
  return done();
}

}  // namespace specswarm::discovery
