#include "discovery/diagnose.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace specswarm::discovery {
namespace {

// True if something accepts connections on the unix socket at `path` (a stale socket file left
// by a dead daemon refuses them).
bool UnixSocketAnswers(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

std::string SystemBusPath() {
  // libdbus honours this variable; so do we, so a test or a container sees the same bus.
  if (const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
    std::string s(env);
    if (size_t p = s.find("unix:path="); p != std::string::npos) {
      s = s.substr(p + 10);
      return s.substr(0, s.find_first_of(",;"));
    }
  }
  return "/run/dbus/system_bus_socket";
}

std::string Run(const char* command) {
  std::string out;
  if (FILE* f = popen(command, "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    pclose(f);
  }
  return out;
}

}  // namespace

Finding CheckSystemBus() {
  std::string path = SystemBusPath();
  if (UnixSocketAnswers(path)) return {};
  return {"no system D-Bus (nothing answers on " + path + "); avahi-daemon needs it",
          "start it: sudo systemctl start dbus (or install the dbus package)"};
}

Finding CheckAvahiDaemon() {
  if (UnixSocketAnswers("/run/avahi-daemon/socket")) return {};
  return {"avahi-daemon is not running on this machine, so nothing browses or advertises mDNS",
          "sudo apt install avahi-daemon && sudo systemctl enable --now avahi-daemon "
          "(or name peers with --peer HOST:PORT)"};
}

Finding CheckMulticastInterfaces() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  bool found = false;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
      continue;
    unsigned f = i->ifa_flags;
    if ((f & IFF_UP) && (f & IFF_RUNNING) && (f & IFF_MULTICAST) && !(f & IFF_LOOPBACK)) found = true;
  }
  freeifaddrs(list);
  if (found) return {};
  return {"no network interface is up with multicast enabled (mDNS needs one)",
          "connect to the LAN; if it is up, enable multicast: sudo ip link set DEV multicast on"};
}

Finding CheckFirewall() {
  // Read-only looks at the usual firewalls; without root they print nothing and we say nothing.
  std::string nft = Run("nft list ruleset 2>/dev/null");
  bool nft_drops = nft.find("hook input") != std::string::npos &&
                   nft.find("policy drop") != std::string::npos;
  std::string ipt = Run("iptables -S INPUT 2>/dev/null");
  bool ipt_drops = ipt.find("-P INPUT DROP") != std::string::npos;
  bool allows_mdns = nft.find("5353") != std::string::npos || ipt.find("5353") != std::string::npos ||
                     nft.find("mdns") != std::string::npos || ipt.find("mdns") != std::string::npos;
  if ((nft_drops || ipt_drops) && !allows_mdns)
    return {"the firewall drops incoming traffic and has no rule for mDNS (UDP 5353)",
            "allow it: sudo ufw allow 5353/udp, or sudo nft add rule inet filter input udp dport 5353 accept"};
  return {};
}

std::vector<Finding> Diagnose(const DiagnoseInput& input) {
  std::vector<Finding> out;
  Finding bus = CheckSystemBus();
  if (!bus.problem.empty()) out.push_back(bus);
  Finding avahi = CheckAvahiDaemon();
  if (!avahi.problem.empty() && bus.problem.empty()) out.push_back(avahi);
  if (out.empty() && input.backend_state == BackendState::kUnavailable)
    out.push_back({"mDNS is unavailable: " + input.backend_why,
                   "check that avahi-daemon runs: systemctl status avahi-daemon"});
  for (Finding f : {CheckMulticastInterfaces(), CheckFirewall()})
    if (!f.problem.empty()) out.push_back(f);
  if (out.empty())
    out.push_back({"mDNS works here, but no specswarm node answered",
                   std::string("run `specswarm join` on the other machines; if multicast does not "
                               "reach them (other subnet, VPN, Wi-Fi isolation), name them with "
                               "--peer HOST:PORT or a `peers:` list in ~/.config/specswarm/config.yml") +
                       (input.had_seeds ? " (the peers you named did not answer either)" : "")});
  return out;
}

}  // namespace specswarm::discovery
