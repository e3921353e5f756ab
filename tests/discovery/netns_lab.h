// NetnsLab: a throwaway LAN of "hosts" built from network namespaces, for the discovery tests
// and benchmarks. Owned by one test; everything it creates is named after the test's PID and
// removed by the destructor (daemons by the PIDs we started, then the namespaces), even when
// the test fails. A lab left behind by a killed run (CTest timeout) is swept by the next lab.
//
// Layout: a switch namespace holding one bridge per segment (no snooping, no STP), and per host
// a namespace with `lo` and, for segment k, a veth `eth<k>` on bridge k at 10.77.<k>.<n>/24, a
// 224.0.0.0/4 route and no default route, so nothing leaves the test segments. Each host gets a private /run by a bind mount done
// inside `ip netns exec` (Wrap()), so its own system D-Bus and avahi-daemon live there.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "child_process.h"

namespace specswarm::testing {

class NetnsLab {
 public:
  // Builds `hosts` hosts. `scenario` (letters/digits, short) goes into the names for humans.
  // `segments` > 1 gives every host that many interfaces, one per LAN segment.
  static Result<std::unique_ptr<NetnsLab>> Create(const std::string& scenario, int hosts,
                                                  int segments = 1);
  ~NetnsLab();

  int hosts() const { return static_cast<int>(hosts_.size()); }
  std::string Address(int host, int segment = 0) const;  // host numbers start at 1
  Status SetLink(int host, int segment, bool up);         // eth<segment> of `host` up or down
  const std::string& Namespace(int host) const { return hosts_.at(host - 1).ns; }

  // argv wrapped to run inside `host` with its private /run.
  std::vector<std::string> Wrap(int host, const std::vector<std::string>& argv) const;

  // The host's system D-Bus, then its avahi-daemon; returns once the daemon reports running.
  Status StartDaemons(int host);
  Status StartAllDaemons();  // starts every daemon first, then waits, to overlap their start-up
  Status StartDbus(int host);  // only the bus (StartDaemons starts both)
  Status StartAvahi(int host);
  Status WaitForAvahi(int host);
  void StopAvahi(int host);

  // Stops multicast flooding on every bridge port: unicast still flows, mDNS does not.
  Status BlockMulticast();

  // Starts `argv` inside `host` with stdin/stdout pipes; stderr goes to the lab's log dir.
  std::optional<ChildProcess> Spawn(int host, const std::vector<std::string>& argv,
                                    const std::string& log_name);
  const std::string& dir() const { return dir_; }

 private:
  struct Host {
    std::string ns;
    std::string run_dir;
    std::optional<ChildProcess> dbus, avahi;
  };
  NetnsLab() = default;
  Status Ip(const std::vector<std::string>& args);
  void RecordPid(pid_t pid);
  static void SweepStaleLabs();

  std::string prefix_;  // "ssd<pid>x<counter>"
  std::string switch_ns_;
  std::string dir_;     // /tmp/specswarm-lab/<prefix>
  std::vector<Host> hosts_;
  int segments_ = 1;
  std::vector<std::string> namespaces_;  // created, to delete
};

}  // namespace specswarm::testing
