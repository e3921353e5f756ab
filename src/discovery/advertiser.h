// Advertiser: publishes this node as a `_specswarm._tcp` service through a Backend and keeps
// its TXT current. It owns the NodeAdvert; node/ calls SetIdle() as slots fill and drain, which
// rewrites the TXT in place (no re-registration, so peers see one change, not a leave and a
// join). Stop() or destruction withdraws the service, and the daemon sends goodbye packets so
// peers drop the node at once instead of waiting for the record's TTL.
//
// Every TXT it publishes carries `seq=<n>`, strictly increasing and based on the wall clock so it
// keeps increasing across restarts: a browser's cache may hold several TXT records of one
// instance for a while, and `seq` says which is current (see live_txt.h).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "discovery/backend.h"
#include "discovery/txt_record.h"

namespace specswarm::discovery {

class Advertiser {
 public:
  // `backend` is not owned and must outlive the Advertiser (its destructor withdraws the service).
  explicit Advertiser(Backend* backend) : backend_(backend) {}
  ~Advertiser() { Stop(); }
  Advertiser(const Advertiser&) = delete;
  Advertiser& operator=(const Advertiser&) = delete;

  // `instance` defaults to DefaultInstanceName(). Fails on an advert peers would reject.
  Status Start(const NodeAdvert& advert, uint16_t port, const std::string& instance = "");
  Status SetIdle(int idle);
  // Any change of the TXT fields; a no-op when nothing changed.
  Status Update(const NodeAdvert& advert);
  void Stop();

  bool running() const { return running_; }
  const NodeAdvert& advert() const { return advert_; }

  // "specswarm-<hostname>-<pid>". The pid makes a restarted node a new instance, so peers never
  // mistake the previous run's cached TXT for the new one; peers key nodes by `id`, not name.
  static std::string DefaultInstanceName();

 private:
  std::vector<std::string> Txt();  // EncodeTxt(advert_) plus the next seq

  Backend* backend_;
  NodeAdvert advert_;
  unsigned long long seq_ = 0;
  bool running_ = false;
};

}  // namespace specswarm::discovery
