#include "netns_lab.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace specswarm::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "ssd";  // every namespace this harness makes starts with it
constexpr const char* kLabRoot = "/tmp/specswarm-lab";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// True for a process we could have started: never signal an unrelated process that reused a pid.
bool IsOurKindOfProcess(pid_t pid) {
  std::string cmd = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (const char* name : {"avahi-daemon", "dbus-daemon", "discovery_test_node", "specswarm",
                           "avahi-publish"})
    if (cmd.find(name) != std::string::npos) return true;
  return false;
}

}  // namespace

void NetnsLab::SweepStaleLabs() {
  DIR* d = opendir("/run/netns");
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + 3));
    if (owner > 0 && kill(owner, 0) < 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(d);
  for (const std::string& ns : stale) {
    // The lab prefix is the namespace name up to its role suffix ("sw" or "h<N>").
    std::string prefix = ns.substr(0, ns.find_first_of("sh", 3));
    std::istringstream pids(ReadFile(std::string(kLabRoot) + "/" + prefix + "/pids"));
    for (pid_t pid; pids >> pid;)
      if (IsOurKindOfProcess(pid)) kill(pid, SIGKILL);
    RunCommand({"ip", "netns", "del", ns});
    std::error_code ec;
    fs::remove_all(std::string(kLabRoot) + "/" + prefix, ec);
  }
}

Result<std::unique_ptr<NetnsLab>> NetnsLab::Create(const std::string& scenario, int hosts,
                                                    int segments) {
  if (geteuid() != 0) return Status::Error("network namespace tests need root");
  SweepStaleLabs();
  static std::atomic<int> counter{0};
  std::unique_ptr<NetnsLab> lab(new NetnsLab());
  lab->prefix_ = std::string(kPrefix) + std::to_string(getpid()) + "x" + std::to_string(++counter);
  lab->switch_ns_ = lab->prefix_ + "sw";
  lab->dir_ = std::string(kLabRoot) + "/" + lab->prefix_;
  std::error_code ec;
  fs::create_directories(lab->dir_, ec);
  if (ec) return Status::Error("cannot create " + lab->dir_ + ": " + ec.message());
  chmod(kLabRoot, 0755);
  chmod(lab->dir_.c_str(), 0755);  // the daemons drop root and must reach their /run
  std::ofstream(lab->dir_ + "/scenario") << scenario << "\n";

  const std::string& sw = lab->switch_ns_;
  if (Status s = lab->Ip({"netns", "add", sw}); !s.ok()) return s;
  lab->namespaces_.push_back(sw);
  // One bridge per segment: br<k>, carrying 10.77.<k>.0/24.
  for (int k = 0; k < segments; ++k) {
    std::string br = "br" + std::to_string(k);
    for (auto& cmd : std::vector<std::vector<std::string>>{
             {"-n", sw, "link", "add", br, "type", "bridge", "mcast_snooping", "0", "stp_state",
              "0", "forward_delay", "0"},
             {"-n", sw, "link", "set", br, "up"}})
      if (Status s = lab->Ip(cmd); !s.ok()) return s;
  }

  for (int n = 1; n <= hosts; ++n) {
    Host h;
    h.ns = lab->prefix_ + "h" + std::to_string(n);
    h.run_dir = lab->dir_ + "/h" + std::to_string(n) + "/run";
    fs::create_directories(h.run_dir + "/dbus", ec);
    chmod((lab->dir_ + "/h" + std::to_string(n)).c_str(), 0755);
    chmod(h.run_dir.c_str(), 0755);
    if (Status s = lab->Ip({"netns", "add", h.ns}); !s.ok()) return s;
    lab->namespaces_.push_back(h.ns);
    if (Status s = lab->Ip({"-n", h.ns, "link", "set", "lo", "up"}); !s.ok()) return s;
    // The lab is IPv4 only, like its daemons (use-ipv6=no): without this the veths get
    // link-local IPv6 addresses that dns_sd's AAAA queries may report before the A record.
    if (Status s = lab->Ip({"netns", "exec", h.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                            "net.ipv6.conf.default.disable_ipv6=1"});
        !s.ok())
      return s;
    std::string interfaces;
    for (int k = 0; k < segments; ++k) {
      std::string port = "v" + std::to_string(n) + "s" + std::to_string(k);
      std::string dev = "eth" + std::to_string(k);
      std::string addr = "10.77." + std::to_string(k) + "." + std::to_string(n) + "/24";
      // The multicast route of the first segment is the default one; others get a metric.
      std::vector<std::string> route{"-n", h.ns, "route", "add", "224.0.0.0/4", "dev", dev};
      if (k > 0) route.insert(route.end(), {"metric", std::to_string(10 * k)});
      for (auto& cmd : std::vector<std::vector<std::string>>{
               {"-n", sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", h.ns},
               {"-n", sw, "link", "set", port, "master", "br" + std::to_string(k), "up"},
               {"-n", h.ns, "addr", "add", addr, "dev", dev},
               {"-n", h.ns, "link", "set", dev, "up"},
               route})
        if (Status s = lab->Ip(cmd); !s.ok()) return s;
      interfaces += (k ? "," : "") + dev;
    }
    std::ofstream(lab->dir_ + "/h" + std::to_string(n) + "/avahi.conf")
        << "[server]\nhost-name=" << h.ns << "\nuse-ipv4=yes\nuse-ipv6=no\n"
        << "allow-interfaces=" << interfaces << "\nenable-dbus=yes\n"
        << "[wide-area]\nenable-wide-area=no\n"
        << "[publish]\npublish-hinfo=no\npublish-workstation=no\n";
    lab->hosts_.push_back(std::move(h));
  }
  lab->segments_ = segments;
  return lab;
}

NetnsLab::~NetnsLab() {
  for (Host& h : hosts_) {
    h.avahi.reset();  // SIGTERM by PID, SIGKILL after the grace period, reaped
    h.dbus.reset();
  }
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it)
    RunCommand({"ip", "netns", "del", *it});
  // SPECSWARM_KEEP_LAB=1 keeps the logs of the daemons and nodes for a post-mortem.
  if (const char* keep = std::getenv("SPECSWARM_KEEP_LAB"); keep && *keep == '1') return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string NetnsLab::Address(int host, int segment) const {
  return "10.77." + std::to_string(segment) + "." + std::to_string(host);
}

Status NetnsLab::SetLink(int host, int segment, bool up) {
  return Ip({"-n", Namespace(host), "link", "set", "eth" + std::to_string(segment), up ? "up" : "down"});
}

std::vector<std::string> NetnsLab::Wrap(int host, const std::vector<std::string>& argv) const {
  std::vector<std::string> out{"ip", "netns", "exec", hosts_.at(host - 1).ns, "sh", "-c",
                               "mount --bind \"$0\" /run && exec \"$@\"",
                               hosts_.at(host - 1).run_dir};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status NetnsLab::Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (int rc = RunCommand(argv); rc != 0) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    return Status::Error("failed (" + std::to_string(rc) + "): " + line);
  }
  return Status::Ok();
}

void NetnsLab::RecordPid(pid_t pid) { std::ofstream(dir_ + "/pids", std::ios::app) << pid << "\n"; }

std::optional<ChildProcess> NetnsLab::Spawn(int host, const std::vector<std::string>& argv,
                                            const std::string& log_name) {
  auto child = ChildProcess::Spawn(Wrap(host, argv), {.pipes = true, .log_path = dir_ + "/" + log_name});
  if (child) RecordPid(child->pid());
  return child;
}

Status NetnsLab::StartDbus(int host) {
  Host& h = hosts_.at(host - 1);
  std::string n = std::to_string(host);
  h.dbus.reset();
  if (auto c = ChildProcess::Spawn(Wrap(host, {"dbus-daemon", "--system", "--nofork", "--nopidfile"}),
                                   {.pipes = false, .log_path = dir_ + "/h" + n + "/dbus.log"}))
    h.dbus.emplace(std::move(*c));
  if (!h.dbus) return Status::Error("cannot start dbus-daemon");
  RecordPid(h.dbus->pid());
  // The bus socket appears once dbus-daemon listens; avahi-daemon fails without it.
  std::string socket = h.run_dir + "/dbus/system_bus_socket";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!fs::exists(socket)) {
    if (std::chrono::steady_clock::now() > deadline || !h.dbus->Running())
      return Status::Error("dbus-daemon did not start on host " + n + " (see " + dir_ + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::Ok();
}

Status NetnsLab::StartAvahi(int host) {
  Host& h = hosts_.at(host - 1);
  std::string n = std::to_string(host);
  std::error_code ec;
  fs::remove(h.run_dir + "/avahi-daemon/pid", ec);  // a killed daemon's pid file blocks a new one
  h.avahi.reset();
  if (auto c = ChildProcess::Spawn(
          Wrap(host, {"avahi-daemon", "--no-chroot", "--no-rlimits", "-f", dir_ + "/h" + n + "/avahi.conf"}),
          {.pipes = false, .log_path = dir_ + "/h" + n + "/avahi.log"}))
    h.avahi.emplace(std::move(*c));
  if (!h.avahi) return Status::Error("cannot start avahi-daemon");
  RecordPid(h.avahi->pid());
  return Status::Ok();
}

Status NetnsLab::WaitForAvahi(int host) {
  std::vector<std::string> get_state =
      Wrap(host, {"dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.Avahi", "/",
                  "org.freedesktop.Avahi.Server.GetState"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out;
    RunCommand(get_state, &out);
    if (out.find("int32 2") != std::string::npos) return Status::Ok();  // AVAHI_SERVER_RUNNING
    if (!hosts_.at(host - 1).avahi || !hosts_.at(host - 1).avahi->Running())
      return Status::Error("avahi-daemon exited on host " + std::to_string(host) + ": see " + dir_);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Error("avahi-daemon not running after 15 s on host " + std::to_string(host));
}

void NetnsLab::StopAvahi(int host) { hosts_.at(host - 1).avahi.reset(); }

Status NetnsLab::StartDaemons(int host) {
  if (Status s = StartDbus(host); !s.ok()) return s;
  if (Status s = StartAvahi(host); !s.ok()) return s;
  return WaitForAvahi(host);
}

Status NetnsLab::StartAllDaemons() {
  for (int n = 1; n <= hosts(); ++n)
    if (Status s = StartDbus(n); !s.ok()) return s;
  for (int n = 1; n <= hosts(); ++n)
    if (Status s = StartAvahi(n); !s.ok()) return s;
  for (int n = 1; n <= hosts(); ++n)
    if (Status s = WaitForAvahi(n); !s.ok()) return s;
  return Status::Ok();
}

Status NetnsLab::BlockMulticast() {
  for (int n = 1; n <= hosts(); ++n)
    for (int k = 0; k < segments_; ++k)
      if (Status s = Ip({"-n", switch_ns_, "link", "set", "v" + std::to_string(n) + "s" + std::to_string(k),
                         "type", "bridge_slave", "mcast_flood", "off"});
          !s.ok())
        return s;
  return Status::Ok();
}

}  // namespace specswarm::testing
