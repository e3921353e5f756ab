// LiveTxt: which TXT record of one service instance is current, as seen by a record browser
// (Avahi's record browser or dns_sd's DNSServiceQueryRecord) on the instance's TXT name.
//
// Why not take the TXT from the service resolver: Avahi's resolver keeps the first TXT it saw
// until that record expires, and after a cache-flush an old record lives on for another second
// (RFC 6762 §10.2) or, if it arrived less than a second before the new one, for its whole TTL.
// A record browser reports every new TXT the moment it is cached, so `idle` updates arrive in
// milliseconds. Among the records still alive the one with the highest `seq` is current (the
// Advertiser stamps every TXT it publishes with one, see advertiser.h); records without `seq`
// (third-party publishers) rank by arrival. A value repeated from before (idle 8 -> 3 -> 8) is
// not new to a cache that still holds the first copy and would raise no event: the `seq` makes
// every published TXT distinct.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace specswarm::discovery {

class LiveTxt {
 public:
  using Items = std::vector<std::string>;

  void Add(const Items& items) {
    Remove(items);
    live_.push_back(items);
  }
  void Remove(const Items& items) { std::erase(live_, items); }
  void Clear() { live_.clear(); }
  const Items* Current() const {
    const Items* best = nullptr;
    unsigned long long best_seq = 0;
    for (const Items& items : live_) {  // oldest first: a later equal seq wins
      unsigned long long seq = SeqOf(items);
      if (!best || seq >= best_seq) {
        best = &items;
        best_seq = seq;
      }
    }
    return best;
  }

  static unsigned long long SeqOf(const Items& items) {
    for (const std::string& item : items)
      if (item.rfind("seq=", 0) == 0) return std::strtoull(item.c_str() + 4, nullptr, 10);
    return 0;
  }

 private:
  std::vector<Items> live_;  // oldest first
};

}  // namespace specswarm::discovery
