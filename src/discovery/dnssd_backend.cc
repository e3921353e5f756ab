// The Bonjour dns_sd.h backend: the native API on macOS. On Linux it is built and tested
// against Avahi's compatibility library so this code path does not rot; see backend.h for the
// contract. Every DNSServiceRef has its own socket; PollFds() lists them all and Process()
// hands each readable one to DNSServiceProcessResult, which runs our callbacks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <tuple>

#include <dns_sd.h>
#ifdef __linux__
#include <avahi-common/malloc.h>
#endif
#include <spdlog/spdlog.h>

#include "discovery/backend.h"
#include "discovery/live_txt.h"
#include "discovery/txt_record.h"

namespace specswarm::discovery {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRetryInterval = std::chrono::milliseconds(1000);

// Errors that mean the daemon itself is gone (Avahi's compat library reports every lost
// connection as Unknown); any lookup seeing one triggers a full rebuild.
bool DaemonGone(DNSServiceErrorType err) {
  constexpr DNSServiceErrorType kServiceNotRunning = -65563;  // Bonjour; absent from Avahi's header
  return err == kDNSServiceErr_Unknown || err == kServiceNotRunning;
}

#ifdef __linux__
// Avahi's compatibility library (0.8) allocates every DNSServiceRef with avahi_new(), which does
// not zero, and sets only the callback of the ref's kind. When the daemon goes away it calls the
// first non-null callback field: for resolve and query refs that is uninitialised memory, and the
// process crashes whenever the heap happened to leave a non-zero value there (seen in the
// daemon-restart test). Routing Avahi's allocations through calloc makes the unused fields null.
// Same libc heap as Avahi's default allocator, so blocks allocated before the switch stay valid.
void ZeroAvahiAllocations() {
  static const AvahiAllocator kZeroing{
      [](size_t n) -> void* { return std::calloc(1, n ? n : 1); }, std::free, std::realloc,
      std::calloc};
  static std::once_flag once;
  std::call_once(once, [] { avahi_set_allocator(&kZeroing); });
}
#endif

std::string ErrorText(DNSServiceErrorType err) {
  if (err == kDNSServiceErr_Unknown)  // what Avahi's compat library returns without a daemon
    return "the DNS-SD service is not running (no avahi-daemon / mDNSResponder)";
  return "dns_sd error " + std::to_string(err);
}

class DnsSdBackend final : public Backend {
 public:
  DnsSdBackend() {
    // Avahi's compatibility library prints a banner to stderr on first use unless told not to.
    setenv("AVAHI_COMPAT_NOWARN", "1", 0);
#ifdef __linux__
    ZeroAvahiAllocations();
#endif
  }
  ~DnsSdBackend() override {
    listener_ = nullptr;
    Teardown();
  }

  const char* name() const override { return "dnssd"; }

  Status Start(BackendListener* listener) override {
    if (listener_) return Status::Error("dns_sd backend started twice");
    listener_ = listener;
    SetState(BackendState::kStarting, "");
    Connect();
    return Status::Ok();
  }

  Status Publish(const std::string& instance, uint16_t port,
                 const std::vector<std::string>& txt) override {
    if (instance.empty() || instance.size() > 63)
      return Status::Error("service instance name must be 1-63 bytes");
    Unpublish();
    publish_ = true;
    instance_ = instance;
    port_ = port;
    txt_ = EncodeTxtWire(txt);
    if (browse_) return Register();
    return Status::Ok();  // registered when the service comes back
  }

  Status UpdateTxt(const std::vector<std::string>& txt) override {
    if (!publish_) return Status::Error("UpdateTxt before Publish");
    txt_ = EncodeTxtWire(txt);
    if (!register_) return Status::Ok();
    // A null RecordRef means the service's primary TXT record: updated in place.
    DNSServiceErrorType err = DNSServiceUpdateRecord(register_, nullptr, 0,
                                                     static_cast<uint16_t>(txt_.size()), txt_.data(), 0);
    if (err != kDNSServiceErr_NoError) return Status::Error("dns_sd: TXT update failed: " + ErrorText(err));
    return Status::Ok();
  }

  void Unpublish() override {
    publish_ = false;
    Release(register_);
  }

  BackendState state() const override { return state_; }

  std::vector<PollFd> PollFds() const override {
    std::vector<PollFd> fds;
    for (DNSServiceRef ref : live_) fds.push_back({DNSServiceRefSockFD(ref), POLLIN});
    return fds;
  }

  int TimeoutMs() const override {
    if (rebuild_) return 0;
    if (browse_) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
  }

  void Process() override {
    std::vector<DNSServiceRef> refs(live_.begin(), live_.end());
    std::vector<pollfd> pfds;
    for (DNSServiceRef ref : refs) pfds.push_back({DNSServiceRefSockFD(ref), POLLIN, 0});
    if (!pfds.empty() && ::poll(pfds.data(), pfds.size(), 0) > 0) {
      // Once the daemon is known to be gone, touch no more refs: the compat library's failure
      // path is fragile (each ref has its own client), and Teardown() releases them all.
      for (size_t i = 0; i < refs.size() && !rebuild_; ++i) {
        // An earlier callback in this loop may have released this ref.
        if (!pfds[i].revents || !live_.count(refs[i])) continue;
        // A released ref's address may already belong to a new one: ask the kernel again,
        // since DNSServiceProcessResult blocks when nothing is waiting.
        pollfd again{DNSServiceRefSockFD(refs[i]), POLLIN, 0};
        if (::poll(&again, 1, 0) <= 0) continue;
        DNSServiceErrorType err = DNSServiceProcessResult(refs[i]);
        if (err != kDNSServiceErr_NoError) Fail("lost the DNS-SD service (" + ErrorText(err) + ")");
      }
    }
    if (rebuild_) {
      rebuild_ = false;
      Teardown();
      retry_at_ = Clock::now() + kRetryInterval;
    }
    if (!browse_ && listener_ && Clock::now() >= retry_at_) Connect();
  }

 private:
  // One instance seen on one interface, with the lookups that follow it.
  struct Instance {
    DnsSdBackend* owner = nullptr;
    std::string name, domain;
    uint32_t iface = 0;
    DNSServiceRef resolve = nullptr;
    DNSServiceRef query_a = nullptr;
    DNSServiceRef query_aaaa = nullptr;
    DNSServiceRef query_txt = nullptr;
    bool resolved = false;  // resolved and addressed: the listener has been told about it
    std::string host, address;
    uint16_t port = 0;
    LiveTxt::Items resolver_txt;  // used until the TXT query has spoken
    LiveTxt txt;
  };
  using Key = std::tuple<uint32_t, std::string, std::string>;  // iface, name, domain

  void SetState(BackendState s, const std::string& why) {
    if (s == state_ && why == why_) return;
    state_ = s;
    why_ = why;
    if (listener_) listener_->OnBackendState(s, why);
  }

  void Fail(const std::string& why) {
    SetState(BackendState::kUnavailable, why);
    rebuild_ = true;
  }

  void Track(DNSServiceRef ref) { live_.insert(ref); }
  void Release(DNSServiceRef& ref) {
    if (!ref) return;
    live_.erase(ref);
    DNSServiceRefDeallocate(ref);  // for a registration this withdraws it with goodbye packets
    ref = nullptr;
  }

  void Connect() {
    DNSServiceErrorType err = DNSServiceBrowse(&browse_, 0, kDNSServiceInterfaceIndexAny,
                                               kServiceType, nullptr, &BrowseCallback, this);
    if (err != kDNSServiceErr_NoError) {
      browse_ = nullptr;
      SetState(BackendState::kUnavailable, ErrorText(err));
      retry_at_ = Clock::now() + kRetryInterval;
      return;
    }
    Track(browse_);
    SetState(BackendState::kRunning, "");
    if (publish_) {
      if (Status s = Register(); !s.ok()) spdlog::debug("discovery: {}", s.message());
    }
  }

  Status Register() {
    DNSServiceErrorType err = DNSServiceRegister(
        &register_, 0, kDNSServiceInterfaceIndexAny, instance_.c_str(), kServiceType, nullptr,
        nullptr, htons(port_), static_cast<uint16_t>(txt_.size()), txt_.data(), &RegisterCallback,
        this);
    if (err != kDNSServiceErr_NoError) {
      register_ = nullptr;
      return Status::Error("dns_sd: cannot publish: " + ErrorText(err));
    }
    Track(register_);
    return Status::Ok();
  }

  void Teardown() {
    for (auto& [key, inst] : instances_) Drop(*inst);
    instances_.clear();
    Release(browse_);
    Release(register_);  // publish_ stays set: Connect() registers again
  }

  // Releases an instance's lookups and tells the listener if it had been reported.
  void Drop(Instance& inst) {
    Release(inst.resolve);
    Release(inst.query_a);
    Release(inst.query_aaaa);
    Release(inst.query_txt);
    if (inst.resolved && listener_) {
      ServiceEvent e;
      e.kind = ServiceEvent::Kind::kRemoved;
      e.instance = inst.name;
      e.interface = static_cast<int>(inst.iface);
      listener_->OnService(e);
    }
  }

  void Emit(const Instance& inst) {
    if (!listener_) return;
    ServiceEvent e;
    e.kind = ServiceEvent::Kind::kResolved;
    e.instance = inst.name;
    e.interface = static_cast<int>(inst.iface);
    e.host = inst.host;
    e.address = inst.address;
    e.port = inst.port;
    const LiveTxt::Items* current = inst.txt.Current();
    e.txt = current ? *current : inst.resolver_txt;
    listener_->OnService(e);
  }

  static void RegisterCallback(DNSServiceRef, DNSServiceFlags, DNSServiceErrorType err,
                               const char* name, const char*, const char*, void* self) {
    auto* me = static_cast<DnsSdBackend*>(self);
    if (err != kDNSServiceErr_NoError) {
      spdlog::debug("discovery: dns_sd registration failed: {}", ErrorText(err));
      if (DaemonGone(err)) me->Fail("lost the DNS-SD service (" + ErrorText(err) + ")");
      return;
    }
    if (name && me->instance_ != name) {
      spdlog::debug("discovery: service name '{}' taken, registered as '{}'", me->instance_, name);
      me->instance_ = name;
    }
  }

  static void BrowseCallback(DNSServiceRef, DNSServiceFlags flags, uint32_t iface,
                             DNSServiceErrorType err, const char* name, const char* type,
                             const char* domain, void* self) {
    auto* me = static_cast<DnsSdBackend*>(self);
    if (err != kDNSServiceErr_NoError) return me->Fail("DNS-SD browse failed: " + ErrorText(err));
    Key key{iface, name, domain};
    auto it = me->instances_.find(key);
    if (!(flags & kDNSServiceFlagsAdd)) {
      if (it != me->instances_.end()) {
        me->Drop(*it->second);
        me->instances_.erase(it);
      }
      return;
    }
    if (it != me->instances_.end()) return;
    auto inst = std::make_unique<Instance>();
    inst->owner = me;
    inst->name = name;
    inst->domain = domain;
    inst->iface = iface;
    // Left running after the first answer: it reports later TXT changes.
    DNSServiceErrorType rerr = DNSServiceResolve(&inst->resolve, 0, iface, name, type, domain,
                                                 &ResolveCallback, inst.get());
    if (rerr != kDNSServiceErr_NoError) {
      spdlog::debug("discovery: cannot resolve '{}': {}", name, ErrorText(rerr));
      return;
    }
    me->Track(inst->resolve);
    // And the TXT record itself, for prompt `idle` updates (see live_txt.h).
    char fullname[kDNSServiceMaxDomainName];
    if (DNSServiceConstructFullName(fullname, name, type, domain) == 0) {
      DNSServiceErrorType qerr = DNSServiceQueryRecord(&inst->query_txt, 0, iface, fullname,
                                                       kDNSServiceType_TXT, kDNSServiceClass_IN,
                                                       &TxtCallback, inst.get());
      if (qerr == kDNSServiceErr_NoError) me->Track(inst->query_txt);
      else inst->query_txt = nullptr;
    }
    me->instances_[key] = std::move(inst);
  }

  static void ResolveCallback(DNSServiceRef, DNSServiceFlags, uint32_t, DNSServiceErrorType err,
                              const char*, const char* host, uint16_t port, uint16_t txt_len,
                              const unsigned char* txt, void* context) {
    auto* inst = static_cast<Instance*>(context);
    DnsSdBackend* me = inst->owner;
    if (err != kDNSServiceErr_NoError) {
      spdlog::debug("discovery: resolving '{}' failed: {}", inst->name, ErrorText(err));
      if (DaemonGone(err)) me->Fail("lost the DNS-SD service (" + ErrorText(err) + ")");
      return;
    }
    auto items = DecodeTxtWire(std::string_view(reinterpret_cast<const char*>(txt), txt_len));
    if (!items.ok()) {
      spdlog::debug("discovery: ignoring '{}': {}", inst->name, items.status().message());
      return;
    }
    std::string new_host = host ? host : "";
    if (new_host != inst->host) {
      // The compat library has no DNSServiceGetAddrInfo: ask for the host's A/AAAA records.
      me->Release(inst->query_a);
      me->Release(inst->query_aaaa);
      inst->address.clear();
      inst->host = new_host;
      me->Query(*inst, kDNSServiceType_A, &inst->query_a);
      me->Query(*inst, kDNSServiceType_AAAA, &inst->query_aaaa);
    }
    inst->port = ntohs(port);
    inst->resolver_txt = std::move(*items);
    // Without an address the peer is of no use yet; QueryCallback reports it once one arrives.
    if (!inst->address.empty()) {
      inst->resolved = true;
      me->Emit(*inst);
    }
  }

  static void TxtCallback(DNSServiceRef, DNSServiceFlags flags, uint32_t, DNSServiceErrorType err,
                          const char*, uint16_t type, uint16_t, uint16_t len, const void* data,
                          uint32_t, void* context) {
    auto* inst = static_cast<Instance*>(context);
    if (DaemonGone(err)) return inst->owner->Fail("lost the DNS-SD service (" + ErrorText(err) + ")");
    if (err != kDNSServiceErr_NoError || type != kDNSServiceType_TXT) return;
    auto items = DecodeTxtWire(std::string_view(static_cast<const char*>(data), len));
    if (!items.ok()) return;
    const LiveTxt::Items* before = inst->txt.Current();
    LiveTxt::Items old = before ? *before : LiveTxt::Items{};
    if (flags & kDNSServiceFlagsAdd) inst->txt.Add(*items);
    else inst->txt.Remove(*items);
    const LiveTxt::Items* now = inst->txt.Current();
    if (inst->resolved && now && *now != old) inst->owner->Emit(*inst);
  }

  void Query(Instance& inst, uint16_t type, DNSServiceRef* ref) {
    DNSServiceErrorType err = DNSServiceQueryRecord(ref, 0, inst.iface, inst.host.c_str(), type,
                                                    kDNSServiceClass_IN, &QueryCallback, &inst);
    if (err != kDNSServiceErr_NoError) {
      *ref = nullptr;
      spdlog::debug("discovery: cannot look up {}: {}", inst.host, ErrorText(err));
      return;
    }
    Track(*ref);
  }

  static void QueryCallback(DNSServiceRef, DNSServiceFlags flags, uint32_t, DNSServiceErrorType err,
                            const char*, uint16_t type, uint16_t, uint16_t len, const void* data,
                            uint32_t, void* context) {
    auto* inst = static_cast<Instance*>(context);
    if (DaemonGone(err)) return inst->owner->Fail("lost the DNS-SD service (" + ErrorText(err) + ")");
    if (err != kDNSServiceErr_NoError || !(flags & kDNSServiceFlagsAdd)) return;
    char text[INET6_ADDRSTRLEN] = "";
    if (type == kDNSServiceType_A && len == 4)
      inet_ntop(AF_INET, data, text, sizeof text);
    else if (type == kDNSServiceType_AAAA && len == 16)
      inet_ntop(AF_INET6, data, text, sizeof text);
    else
      return;
    // Prefer IPv4 once known: it is what the daemons of most office LANs answer on.
    if (type == kDNSServiceType_AAAA && !inst->address.empty() &&
        inst->address.find(':') == std::string::npos)
      return;
    if (inst->address == text) return;
    inst->address = text;
    if (inst->port == 0) return;  // not resolved yet: ResolveCallback reports it
    inst->resolved = true;
    inst->owner->Emit(*inst);
  }

  BackendListener* listener_ = nullptr;
  BackendState state_ = BackendState::kStarting;
  std::string why_;
  std::set<DNSServiceRef> live_;  // every ref we hold, for polling and use-after-release checks
  DNSServiceRef browse_ = nullptr;
  DNSServiceRef register_ = nullptr;
  std::map<Key, std::unique_ptr<Instance>> instances_;
  bool rebuild_ = false;
  Clock::time_point retry_at_{};

  bool publish_ = false;
  std::string instance_;
  uint16_t port_ = 0;
  std::string txt_;  // wire form
};

}  // namespace

std::unique_ptr<Backend> MakeDnsSdBackend() { return std::make_unique<DnsSdBackend>(); }

std::unique_ptr<Backend> MakeBackend(BackendKind kind) {
  return kind == BackendKind::kDnsSd ? MakeDnsSdBackend() : MakeAvahiBackend();
}

Result<BackendKind> ParseBackendKind(const std::string& name) {
  if (name == "avahi") return BackendKind::kAvahi;
  if (name == "dnssd" || name == "dns_sd") return BackendKind::kDnsSd;
  return Status::Error("unknown discovery backend '" + name + "' (use avahi or dnssd)");
}

}  // namespace specswarm::discovery
