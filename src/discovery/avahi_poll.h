// AvahiPollAdapter: an AvahiPoll (Avahi's main-loop abstraction) whose watches and timeouts are
// plain data, so that the caller's own loop (zmq_poll) waits on them instead of Avahi's
// AvahiSimplePoll owning the loop. The Avahi backend owns one; nothing else uses it.
//
// Avahi may create and free watches and timeouts from inside their own callbacks, so freeing
// only marks an entry dead; Dispatch() reclaims dead entries after it has run the callbacks.
#pragma once

#include <sys/time.h>

#include <memory>
#include <vector>

#include <avahi-common/watch.h>

#include "discovery/backend.h"

namespace specswarm::discovery {

class AvahiPollAdapter {
 public:
  AvahiPollAdapter();
  ~AvahiPollAdapter();
  AvahiPollAdapter(const AvahiPollAdapter&) = delete;
  AvahiPollAdapter& operator=(const AvahiPollAdapter&) = delete;

  const AvahiPoll* api() const { return &api_; }

  std::vector<PollFd> PollFds() const;
  int TimeoutMs() const;  // until the earliest enabled timeout, -1 if none
  // Runs the callbacks of ready watches (checked with a zero-timeout poll) and due timeouts.
  void Dispatch();

 private:
  struct Watch;
  struct Timeout;
  static AvahiWatch* WatchNew(const AvahiPoll* api, int fd, AvahiWatchEvent events,
                              AvahiWatchCallback cb, void* userdata);
  static void WatchUpdate(AvahiWatch* w, AvahiWatchEvent events);
  static AvahiWatchEvent WatchGetEvents(AvahiWatch* w);
  static void WatchFree(AvahiWatch* w);
  static AvahiTimeout* TimeoutNew(const AvahiPoll* api, const struct timeval* tv,
                                  AvahiTimeoutCallback cb, void* userdata);
  static void TimeoutUpdate(AvahiTimeout* t, const struct timeval* tv);
  static void TimeoutFree(AvahiTimeout* t);
  void Reclaim();

  AvahiPoll api_;
  std::vector<std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Timeout>> timeouts_;
};

}  // namespace specswarm::discovery
