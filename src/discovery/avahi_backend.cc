// The Avahi client backend: talks over D-Bus to the avahi-daemon that Linux desktops run.
// See backend.h for the contract. Everything runs from Process(); AvahiPollAdapter lets the
// caller's loop wait on Avahi's D-Bus socket and timers.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <tuple>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <spdlog/spdlog.h>

#include "discovery/avahi_poll.h"
#include "discovery/live_txt.h"
#include "discovery/backend.h"
#include "discovery/txt_record.h"

namespace specswarm::discovery {
namespace {

using Clock = std::chrono::steady_clock;
// How often to try again while there is no daemon or no bus. Short, because `discover` waits
// only a few seconds and a daemon that starts should be used at once.
constexpr auto kRetryInterval = std::chrono::milliseconds(1000);

AvahiStringList* ToStrlst(const std::vector<std::string>& items) {
  AvahiStringList* list = nullptr;
  // avahi_string_list_add prepends; add in reverse so the wire order is the given order.
  for (auto it = items.rbegin(); it != items.rend(); ++it)
    list = avahi_string_list_add_arbitrary(
        list, reinterpret_cast<const uint8_t*>(it->data()), it->size());
  return list;
}

std::vector<std::string> FromStrlst(AvahiStringList* list) {
  std::vector<std::string> items;
  for (AvahiStringList* l = list; l; l = avahi_string_list_get_next(l))
    items.emplace_back(reinterpret_cast<const char*>(avahi_string_list_get_text(l)),
                       avahi_string_list_get_size(l));
  return items;
}

int FamilyOf(AvahiProtocol p) {
  return p == AVAHI_PROTO_INET ? AF_INET : p == AVAHI_PROTO_INET6 ? AF_INET6 : 0;
}

class AvahiBackend final : public Backend {
 public:
  ~AvahiBackend() override {
    listener_ = nullptr;  // no events while tearing down
    Teardown();
  }

  const char* name() const override { return "avahi"; }

  Status Start(BackendListener* listener) override {
    if (listener_) return Status::Error("avahi backend started twice");
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
    txt_ = txt;
    if (client_ && avahi_client_get_state(client_) == AVAHI_CLIENT_S_RUNNING) return Register();
    return Status::Ok();  // registered as soon as the daemon is there
  }

  Status UpdateTxt(const std::vector<std::string>& txt) override {
    if (!publish_) return Status::Error("UpdateTxt before Publish");
    txt_ = txt;
    if (!group_ || avahi_entry_group_is_empty(group_)) return Status::Ok();  // sent on register
    AvahiStringList* list = ToStrlst(txt_);
    int err = avahi_entry_group_update_service_txt_strlst(
        group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, AvahiPublishFlags(0), instance_.c_str(),
        kServiceType, nullptr, list);
    avahi_string_list_free(list);
    if (err < 0) return Status::Error(std::string("avahi: TXT update failed: ") + avahi_strerror(err));
    return Status::Ok();
  }

  void Unpublish() override {
    publish_ = false;
    if (group_) {
      avahi_entry_group_free(group_);  // the daemon withdraws the records with goodbye packets
      group_ = nullptr;
    }
  }

  BackendState state() const override { return state_; }

  std::vector<PollFd> PollFds() const override { return poll_.PollFds(); }

  int TimeoutMs() const override {
    int t = poll_.TimeoutMs();
    if (rebuild_) return 0;
    if (!client_) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - Clock::now()).count();
      int retry = left < 0 ? 0 : static_cast<int>(left);
      t = t < 0 ? retry : std::min(t, retry);
    }
    return t;
  }

  void Process() override {
    poll_.Dispatch();
    if (rebuild_) {
      // Avahi forbids freeing the client from its own callback, so failures only set the flag.
      rebuild_ = false;
      Teardown();
      retry_at_ = Clock::now();
    }
    if (!client_ && listener_ && Clock::now() >= retry_at_) Connect();
  }

 private:
  using Key = std::tuple<AvahiIfIndex, AvahiProtocol, std::string, std::string>;  // if, proto, name, domain

  // One instance seen on one interface and protocol, with the lookups that follow it.
  struct Instance {
    AvahiBackend* owner = nullptr;
    Key key;
    AvahiServiceResolver* resolver = nullptr;
    AvahiRecordBrowser* txt_browser = nullptr;
    bool resolved = false;  // the listener has been told about it
    std::string host, address;
    uint16_t port = 0;
    LiveTxt::Items resolver_txt;  // used until the record browser has spoken
    LiveTxt txt;
  };

  void SetState(BackendState s, const std::string& why) {
    if (s == state_ && why == why_) return;
    state_ = s;
    why_ = why;
    if (s == BackendState::kUnavailable) spdlog::debug("discovery: avahi unavailable: {}", why);
    if (listener_) listener_->OnBackendState(s, why);
  }

  void Connect() {
    int err = 0;
    AvahiClient* c = avahi_client_new(poll_.api(), AVAHI_CLIENT_NO_FAIL, &ClientCallback, this, &err);
    if (!c) {
      // NO_FAIL covers a missing daemon; this is a missing or unreachable system D-Bus.
      SetState(BackendState::kUnavailable,
               std::string("cannot reach the system D-Bus (") + avahi_strerror(err) + ")");
      retry_at_ = Clock::now() + kRetryInterval;
      return;
    }
    client_ = c;
  }

  // Frees every Avahi object; the listener hears that every resolved instance is gone, because
  // after a daemon restart nothing we were told can be vouched for.
  void Teardown() {
    for (auto& [key, inst] : instances_) Drop(key, *inst);
    instances_.clear();
    if (browser_) avahi_service_browser_free(browser_);
    browser_ = nullptr;
    if (group_) avahi_entry_group_free(group_);
    group_ = nullptr;
    if (client_) avahi_client_free(client_);
    client_ = nullptr;
  }

  static void ClientCallback(AvahiClient* c, AvahiClientState s, void* self) {
    static_cast<AvahiBackend*>(self)->OnClientState(c, s);
  }

  void OnClientState(AvahiClient* c, AvahiClientState s) {
    client_ = c;  // may run inside avahi_client_new, before it returned c to us
    switch (s) {
      case AVAHI_CLIENT_S_RUNNING:
        SetState(BackendState::kRunning, "");
        if (!browser_) {
          browser_ = avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, kServiceType,
                                               nullptr, AvahiLookupFlags(0), &BrowseCallback, this);
          if (!browser_) {
            spdlog::debug("discovery: avahi browse failed: {}", avahi_strerror(avahi_client_errno(c)));
            rebuild_ = true;
          }
        }
        if (publish_ && (!group_ || avahi_entry_group_is_empty(group_))) (void)Register();
        break;
      case AVAHI_CLIENT_S_COLLISION:
      case AVAHI_CLIENT_S_REGISTERING:
        // The daemon is renaming its host; records are re-registered once it is running again.
        if (group_) avahi_entry_group_reset(group_);
        break;
      case AVAHI_CLIENT_CONNECTING:
        SetState(BackendState::kUnavailable, "avahi-daemon is not running (waiting for it to start)");
        break;
      case AVAHI_CLIENT_FAILURE:
        SetState(BackendState::kUnavailable,
                 std::string("lost avahi-daemon (") + avahi_strerror(avahi_client_errno(c)) + ")");
        rebuild_ = true;
        break;
    }
  }

  Status Register() {
    if (!group_) group_ = avahi_entry_group_new(client_, &GroupCallback, this);
    if (!group_)
      return Status::Error(std::string("avahi: cannot create entry group: ") +
                           avahi_strerror(avahi_client_errno(client_)));
    for (int attempt = 0; attempt < 10; ++attempt) {
      AvahiStringList* list = ToStrlst(txt_);
      int err = avahi_entry_group_add_service_strlst(
          group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, AvahiPublishFlags(0), instance_.c_str(),
          kServiceType, nullptr, nullptr, port_, list);
      avahi_string_list_free(list);
      if (err == AVAHI_ERR_COLLISION) {
        PickAlternativeName();
        avahi_entry_group_reset(group_);
        continue;
      }
      if (err < 0) return Status::Error(std::string("avahi: cannot publish: ") + avahi_strerror(err));
      err = avahi_entry_group_commit(group_);
      if (err < 0) return Status::Error(std::string("avahi: cannot commit: ") + avahi_strerror(err));
      return Status::Ok();
    }
    return Status::Error("avahi: no free service name after 10 tries");
  }

  void PickAlternativeName() {
    char* alt = avahi_alternative_service_name(instance_.c_str());
    spdlog::debug("discovery: service name '{}' taken, using '{}'", instance_, alt);
    instance_ = alt;
    avahi_free(alt);
  }

  static void GroupCallback(AvahiEntryGroup* g, AvahiEntryGroupState s, void* self) {
    auto* me = static_cast<AvahiBackend*>(self);
    if (s == AVAHI_ENTRY_GROUP_COLLISION) {
      me->group_ = g;
      me->PickAlternativeName();
      avahi_entry_group_reset(g);
      (void)me->Register();
    } else if (s == AVAHI_ENTRY_GROUP_FAILURE) {
      spdlog::debug("discovery: avahi publish failed: {}",
                    avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
    }
  }

  static void BrowseCallback(AvahiServiceBrowser*, AvahiIfIndex iface, AvahiProtocol proto,
                             AvahiBrowserEvent event, const char* name, const char* type,
                             const char* domain, AvahiLookupResultFlags, void* self) {
    auto* me = static_cast<AvahiBackend*>(self);
    switch (event) {
      case AVAHI_BROWSER_NEW: {
        Key key{iface, proto, name, domain};
        if (me->instances_.count(key)) break;
        auto inst = std::make_unique<Instance>();
        inst->owner = me;
        inst->key = key;
        // Kept open after the first answer: it follows the host, port and address.
        inst->resolver = avahi_service_resolver_new(
            me->client_, iface, proto, name, type, domain, AVAHI_PROTO_UNSPEC, AvahiLookupFlags(0),
            &ResolveCallback, inst.get());
        if (!inst->resolver) {
          spdlog::debug("discovery: cannot resolve '{}': {}", name,
                        avahi_strerror(avahi_client_errno(me->client_)));
          break;
        }
        // And the TXT record itself, for prompt `idle` updates (see live_txt.h).
        char fullname[AVAHI_DOMAIN_NAME_MAX];
        if (avahi_service_name_join(fullname, sizeof fullname, name, type, domain) == 0)
          inst->txt_browser = avahi_record_browser_new(
              me->client_, iface, proto, fullname, AVAHI_DNS_CLASS_IN, AVAHI_DNS_TYPE_TXT,
              AvahiLookupFlags(0), &TxtCallback, inst.get());
        me->instances_[key] = std::move(inst);
        break;
      }
      case AVAHI_BROWSER_REMOVE: {
        Key key{iface, proto, name, domain};
        if (auto it = me->instances_.find(key); it != me->instances_.end()) {
          me->Drop(key, *it->second);
          me->instances_.erase(it);
        }
        break;
      }
      case AVAHI_BROWSER_FAILURE:
        me->SetState(BackendState::kUnavailable, "avahi browse failed");
        me->rebuild_ = true;
        break;
      case AVAHI_BROWSER_ALL_FOR_NOW:
      case AVAHI_BROWSER_CACHE_EXHAUSTED:
        break;  // `name` is NULL for these: nothing to compare
    }
  }

  static void ResolveCallback(AvahiServiceResolver*, AvahiIfIndex, AvahiProtocol,
                              AvahiResolverEvent event, const char* name, const char*,
                              const char*, const char* host, const AvahiAddress* address,
                              uint16_t port, AvahiStringList* txt, AvahiLookupResultFlags,
                              void* context) {
    auto* inst = static_cast<Instance*>(context);
    if (event == AVAHI_RESOLVER_FAILURE) {
      // Typically a timeout while the host is going away; the browser's REMOVE follows. Keep
      // the resolver: it still reports the service if it answers later.
      spdlog::debug("discovery: resolving '{}' failed: {}", name,
                    avahi_strerror(avahi_client_errno(inst->owner->client_)));
      return;
    }
    inst->host = host ? host : "";
    inst->address.clear();
    if (address) {
      char text[AVAHI_ADDRESS_STR_MAX];
      avahi_address_snprint(text, sizeof text, address);
      inst->address = text;
    }
    inst->port = port;
    inst->resolver_txt = FromStrlst(txt);
    inst->resolved = true;
    inst->owner->Emit(*inst);
  }

  static void TxtCallback(AvahiRecordBrowser*, AvahiIfIndex, AvahiProtocol, AvahiBrowserEvent event,
                          const char*, uint16_t, uint16_t, const void* rdata, size_t size,
                          AvahiLookupResultFlags, void* context) {
    auto* inst = static_cast<Instance*>(context);
    if (event != AVAHI_BROWSER_NEW && event != AVAHI_BROWSER_REMOVE) return;
    auto items = DecodeTxtWire(std::string_view(static_cast<const char*>(rdata), size));
    if (!items.ok()) return;
    const LiveTxt::Items* before = inst->txt.Current();
    LiveTxt::Items old = before ? *before : LiveTxt::Items{};
    if (event == AVAHI_BROWSER_NEW) inst->txt.Add(*items);
    else inst->txt.Remove(*items);
    const LiveTxt::Items* now = inst->txt.Current();
    if (inst->resolved && now && *now != old) inst->owner->Emit(*inst);
  }

  void Emit(const Instance& inst) {
    if (!listener_) return;
    ServiceEvent e;
    e.kind = ServiceEvent::Kind::kResolved;
    e.instance = std::get<2>(inst.key);
    e.interface = std::get<0>(inst.key);
    e.family = FamilyOf(std::get<1>(inst.key));
    e.host = inst.host;
    e.address = inst.address;
    e.port = inst.port;
    const LiveTxt::Items* current = inst.txt.Current();
    e.txt = current ? *current : inst.resolver_txt;
    listener_->OnService(e);
  }

  // Frees an instance's lookups and tells the listener if it had been reported.
  void Drop(const Key& key, Instance& inst) {
    if (inst.resolver) avahi_service_resolver_free(inst.resolver);
    if (inst.txt_browser) avahi_record_browser_free(inst.txt_browser);
    inst.resolver = nullptr;
    inst.txt_browser = nullptr;
    if (inst.resolved) EmitRemoved(key);
  }

  void EmitRemoved(const Key& key) {
    if (!listener_) return;
    ServiceEvent e;
    e.kind = ServiceEvent::Kind::kRemoved;
    e.interface = std::get<0>(key);
    e.family = FamilyOf(std::get<1>(key));
    e.instance = std::get<2>(key);
    listener_->OnService(e);
  }

  // Declared first so it is destroyed last: the client's watches live in it.
  AvahiPollAdapter poll_;
  BackendListener* listener_ = nullptr;
  BackendState state_ = BackendState::kStarting;
  std::string why_;
  AvahiClient* client_ = nullptr;
  AvahiServiceBrowser* browser_ = nullptr;
  std::map<Key, std::unique_ptr<Instance>> instances_;
  AvahiEntryGroup* group_ = nullptr;
  bool rebuild_ = false;
  Clock::time_point retry_at_{};

  // What the caller asked to publish; kept across daemon restarts.
  bool publish_ = false;
  std::string instance_;
  uint16_t port_ = 0;
  std::vector<std::string> txt_;
};

}  // namespace

std::unique_ptr<Backend> MakeAvahiBackend() { return std::make_unique<AvahiBackend>(); }

}  // namespace specswarm::discovery
