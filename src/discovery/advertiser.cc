#include "discovery/advertiser.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace specswarm::discovery {

std::string Advertiser::DefaultInstanceName() {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  std::string h(host);
  if (auto dot = h.find('.'); dot != std::string::npos) h.resize(dot);
  if (h.empty()) h = "node";
  std::string pid = std::to_string(getpid());
  // DNS-SD labels hold 63 bytes: shorten the host part, never the pid.
  size_t room = 63 - (std::string("specswarm--").size() + pid.size());
  if (h.size() > room) h.resize(room);
  return "specswarm-" + h + "-" + pid;
}

std::vector<std::string> Advertiser::Txt() {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  seq_ = std::max<unsigned long long>(seq_ + 1, static_cast<unsigned long long>(now));
  std::vector<std::string> txt = EncodeTxt(advert_);
  txt.push_back("seq=" + std::to_string(seq_));
  return txt;
}

Status Advertiser::Start(const NodeAdvert& advert, uint16_t port, const std::string& instance) {
  if (Status s = Validate(advert); !s.ok()) return Status::Error("cannot advertise: " + s.message());
  if (port == 0) return Status::Error("cannot advertise: port 0");
  Stop();
  advert_ = advert;
  Status s = backend_->Publish(instance.empty() ? DefaultInstanceName() : instance, port, Txt());
  running_ = s.ok();
  return s;
}

Status Advertiser::SetIdle(int idle) {
  NodeAdvert next = advert_;
  next.idle = idle;
  return Update(next);
}

Status Advertiser::Update(const NodeAdvert& advert) {
  if (!running_) return Status::Error("advertiser is not running");
  if (Status s = Validate(advert); !s.ok()) return Status::Error("cannot advertise: " + s.message());
  if (advert == advert_) return Status::Ok();
  advert_ = advert;
  return backend_->UpdateTxt(Txt());
}

void Advertiser::Stop() {
  if (!running_) return;
  running_ = false;
  backend_->Unpublish();
}

}  // namespace specswarm::discovery
