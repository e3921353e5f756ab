#include "discovery/avahi_poll.h"

#include <poll.h>

#include <algorithm>
#include <climits>

#include <avahi-common/timeval.h>

// Avahi's callbacks receive the opaque AvahiWatch*/AvahiTimeout*; ours are these structs.
struct AvahiWatch {
  specswarm::discovery::AvahiPollAdapter* owner;
  int fd;
  AvahiWatchEvent events;
  AvahiWatchEvent revents;
  AvahiWatchCallback callback;
  void* userdata;
  bool dead;
};

struct AvahiTimeout {
  specswarm::discovery::AvahiPollAdapter* owner;
  struct timeval when;
  bool enabled;
  AvahiTimeoutCallback callback;
  void* userdata;
  bool dead;
};

namespace specswarm::discovery {

struct AvahiPollAdapter::Watch : AvahiWatch {};
struct AvahiPollAdapter::Timeout : AvahiTimeout {};

AvahiPollAdapter::AvahiPollAdapter() {
  api_.userdata = this;
  api_.watch_new = &WatchNew;
  api_.watch_update = &WatchUpdate;
  api_.watch_get_events = &WatchGetEvents;
  api_.watch_free = &WatchFree;
  api_.timeout_new = &TimeoutNew;
  api_.timeout_update = &TimeoutUpdate;
  api_.timeout_free = &TimeoutFree;
}

AvahiPollAdapter::~AvahiPollAdapter() = default;

AvahiWatch* AvahiPollAdapter::WatchNew(const AvahiPoll* api, int fd, AvahiWatchEvent events,
                                       AvahiWatchCallback cb, void* userdata) {
  auto* self = static_cast<AvahiPollAdapter*>(api->userdata);
  auto w = std::make_unique<Watch>();
  w->owner = self;
  w->fd = fd;
  w->events = events;
  w->revents = static_cast<AvahiWatchEvent>(0);
  w->callback = cb;
  w->userdata = userdata;
  w->dead = false;
  self->watches_.push_back(std::move(w));
  return self->watches_.back().get();
}

void AvahiPollAdapter::WatchUpdate(AvahiWatch* w, AvahiWatchEvent events) { w->events = events; }

AvahiWatchEvent AvahiPollAdapter::WatchGetEvents(AvahiWatch* w) { return w->revents; }

void AvahiPollAdapter::WatchFree(AvahiWatch* w) { w->dead = true; }

AvahiTimeout* AvahiPollAdapter::TimeoutNew(const AvahiPoll* api, const struct timeval* tv,
                                           AvahiTimeoutCallback cb, void* userdata) {
  auto* self = static_cast<AvahiPollAdapter*>(api->userdata);
  auto t = std::make_unique<Timeout>();
  t->owner = self;
  t->enabled = tv != nullptr;
  if (tv) t->when = *tv;
  t->callback = cb;
  t->userdata = userdata;
  t->dead = false;
  self->timeouts_.push_back(std::move(t));
  return self->timeouts_.back().get();
}

void AvahiPollAdapter::TimeoutUpdate(AvahiTimeout* t, const struct timeval* tv) {
  t->enabled = tv != nullptr;
  if (tv) t->when = *tv;
}

void AvahiPollAdapter::TimeoutFree(AvahiTimeout* t) { t->dead = true; }

std::vector<PollFd> AvahiPollAdapter::PollFds() const {
  std::vector<PollFd> fds;
  for (const auto& w : watches_)
    if (!w->dead && w->events) fds.push_back({w->fd, static_cast<short>(w->events)});
  return fds;
}

int AvahiPollAdapter::TimeoutMs() const {
  // Avahi's absolute times come from its own clock (gettimeofday() in 0.8, CLOCK_MONOTONIC in
  // later releases); avahi_age() measures against the same one, whichever it is.
  long long best = -1;
  for (const auto& t : timeouts_) {
    if (t->dead || !t->enabled) continue;
    long long usec = -avahi_age(&t->when);  // microseconds until due, negative if overdue
    long long ms = usec <= 0 ? 0 : (usec + 999) / 1000;
    if (best < 0 || ms < best) best = ms;
  }
  return best > INT_MAX ? INT_MAX : static_cast<int>(best);
}

void AvahiPollAdapter::Dispatch() {
  // Watches: ask the kernel which are ready now; the caller has already waited.
  std::vector<AvahiWatch*> live;
  std::vector<pollfd> pfds;
  for (const auto& w : watches_) {
    if (w->dead || !w->events) continue;
    live.push_back(w.get());
    pfds.push_back({w->fd, static_cast<short>(w->events), 0});
  }
  if (!pfds.empty() && ::poll(pfds.data(), pfds.size(), 0) > 0) {
    for (size_t i = 0; i < live.size(); ++i) {
      AvahiWatch* w = live[i];
      if (w->dead || !pfds[i].revents) continue;  // freed by an earlier callback
      w->revents = static_cast<AvahiWatchEvent>(pfds[i].revents);
      w->callback(w, w->fd, w->revents, w->userdata);
      w->revents = static_cast<AvahiWatchEvent>(0);
    }
  }
  // Timeouts: fire every due one once; a callback may re-arm it or create new ones, which wait
  // for the next Dispatch() (the index loop tolerates growth).
  for (size_t i = 0; i < timeouts_.size(); ++i) {
    AvahiTimeout* t = timeouts_[i].get();
    if (t->dead || !t->enabled || avahi_age(&t->when) < 0) continue;
    t->enabled = false;  // "after the timeout expired ... the timeout is disabled"
    t->callback(t, t->userdata);
  }
  Reclaim();
}

void AvahiPollAdapter::Reclaim() {
  std::erase_if(watches_, [](const auto& w) { return w->dead; });
  std::erase_if(timeouts_, [](const auto& t) { return t->dead; });
}

}  // namespace specswarm::discovery
