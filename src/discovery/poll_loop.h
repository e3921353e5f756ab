// Helpers that drive a Backend from zmq_poll, the way node/'s event loop will: the backend's
// descriptors go into the same zmq_pollitem_t array as ZeroMQ sockets. Used by `discover`,
// the tests' helper node and the benchmarks; node/ builds its own array with AppendPollItems.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include <zmq.h>

#include "discovery/backend.h"

namespace specswarm::discovery {

// Appends one zmq_pollitem_t per backend descriptor (fd items, socket = nullptr).
void AppendPollItems(const Backend& backend, std::vector<zmq_pollitem_t>* items);

// Waits on the backend's descriptors for at most `max_wait` (less if its timers say so), then
// calls Process().
void PumpOnce(Backend& backend, std::chrono::milliseconds max_wait);

// Pumps until `done()` is true or `deadline`; returns done().
bool PumpUntil(Backend& backend, std::chrono::steady_clock::time_point deadline,
               const std::function<bool()>& done);

}  // namespace specswarm::discovery
