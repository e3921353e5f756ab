#include "swarm_lab.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace specswarm::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void WriteSuite(const std::string& project, const SleepySuite& suite) {
  fs::create_directories(project + "/spec");
  for (int i = 0; i < suite.files; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s/spec/f%02d_spec.rb", project.c_str(), i);
    std::ofstream out(name);
    out << "RSpec.describe \"file " << i << "\" do\n"
        << "  it \"passes\" do\n    expect(1).to eq(1)\n  end\n"
        << "  it \"sleeps\" do\n    sleep " << suite.seconds << "\n    expect(ENV).to have_key(\"TEST_ENV_NUMBER\")\n  end\n";
    if (i % 3 == 0) out << "  it \"fails\" do\n    expect(1).to eq(2)\n  end\n";
    if (i % 4 == 0) out << "  it \"is pending\" do\n    pending \"later\"\n    raise \"not yet\"\n  end\n";
    out << "end\n";
  }
}

}  // namespace

std::unique_ptr<SwarmLab> SwarmLab::Create(const std::string& scenario, int hosts, const SleepySuite& suite) {
  return Create(scenario, hosts, [&suite](const std::string& project) { WriteSuite(project, suite); });
}

std::unique_ptr<SwarmLab> SwarmLab::Create(const std::string& scenario, int hosts,
                                           const std::function<void(const std::string&)>& write_suite) {
  auto net = NetnsLab::Create(scenario, hosts);
  if (!net.ok()) return nullptr;
  std::unique_ptr<SwarmLab> lab(new SwarmLab());
  lab->lab_ = std::move(*net);
  if (!lab->lab_->StartAllDaemons().ok()) return nullptr;
  lab->coord_dir_ = lab->lab_->dir() + "/coord";
  lab->project_ = lab->coord_dir_ + "/project";
  fs::create_directories(lab->project_ + "/spec");
  write_suite(lab->project_);
  std::string out;
  int rc = RunCommand({"sh", "-c",
                       "cd " + Quote(lab->project_) +
                           " && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm suite"},
                      &out, true);
  if (rc != 0) return nullptr;
  lab->key_file_ = lab->NewKeyFile("lab");
  if (lab->key_file_.empty()) return nullptr;
  for (int h = 1; h <= hosts; ++h) {
    fs::create_directories(lab->lab_->dir() + "/h" + std::to_string(h) + "/home");
    if (!lab->InstallKey(h, lab->key_file_)) return nullptr;
  }
  return lab;
}

SwarmLab::~SwarmLab() {
  for (auto& [host, run] : runs_) {
    if (run) run->Stop(std::chrono::milliseconds(3000));
  }
  for (auto& [host, join] : joins_) {
    if (join) join->Stop(std::chrono::milliseconds(5000));
  }
}

std::vector<std::string> SwarmLab::Env(int host) const {
  const std::string base = lab_->dir() + "/h" + std::to_string(host);
  return {"env", "HOME=" + base + "/home", "XDG_STATE_HOME=" + base + "/state", "XDG_CACHE_HOME=" + base + "/cache",
          "XDG_CONFIG_HOME=" + base + "/config"};
}

std::string SwarmLab::NewKeyFile(const std::string& name) {
  static int made = 0;
  const std::string config = lab_->dir() + "/keys/" + std::to_string(++made);
  std::string out;
  if (RunCommand({"env", "XDG_CONFIG_HOME=" + config, SPECSWARM_BINARY, "key", "new", "--name", name}, &out, true) != 0)
    return "";
  return config + "/specswarm/swarm.key";
}

bool SwarmLab::InstallKey(int host, const std::string& key_file) {
  const std::string target = lab_->dir() + "/h" + std::to_string(host) + "/config/specswarm/swarm.key";
  std::error_code ec;
  fs::remove(target, ec);
  if (key_file.empty()) return true;
  fs::create_directories(fs::path(target).parent_path());
  return fs::copy_file(key_file, target, ec) && !ec;
}

bool SwarmLab::StartJoin(int host, const std::vector<std::string>& extra, const std::vector<std::string>& env) {
  std::vector<std::string> argv{"sh", "-c", "mount -t tmpfs none \"$0\" && exec \"$@\"", coord_dir_};
  for (const auto& e : Env(host)) argv.push_back(e);
  argv.insert(argv.end(), env.begin(), env.end());
  for (const auto& a : std::vector<std::string>{SPECSWARM_BINARY, "join", "--allow-root", "--slots", "2", "--port",
                                                std::to_string(kPort), "--host", "host" + std::to_string(host)}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  joins_[host].reset();
  // A restarted join appends to the same log: wait for its own line.
  auto offers = [this, host] {
    const std::string log = JoinLog(host);
    int n = 0;
    for (size_t at = log.find(" offers "); at != std::string::npos; at = log.find(" offers ", at + 1)) ++n;
    return n;
  };
  const int before = offers();
  auto join = lab_->Spawn(host, argv, "join" + std::to_string(host) + ".log");
  if (!join) return false;
  joins_[host].emplace(std::move(*join));
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (offers() == before) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void SwarmLab::WriteProjectFile(const std::string& relative, const std::string& content) {
  fs::create_directories(fs::path(project_ + "/" + relative).parent_path());
  std::ofstream(project_ + "/" + relative) << content;
}

std::string SwarmLab::JoinLog(int host) const { return Slurp(lab_->dir() + "/join" + std::to_string(host) + ".log"); }

bool SwarmLab::WaitForLog(int host, const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (JoinLog(host).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

pid_t SwarmLab::JoinPid(int host) { return joins_[host] ? joins_[host]->pid() : -1; }

pid_t SwarmLab::NodePid(int host) {
  pid_t guardian = JoinPid(host);
  std::ifstream children("/proc/" + std::to_string(guardian) + "/task/" + std::to_string(guardian) + "/children");
  pid_t node = -1;
  children >> node;
  return node;
}

int SwarmLab::StopJoin(int host, int sig) {
  if (!joins_[host]) return -1;
  int status = joins_[host]->Stop(std::chrono::milliseconds(15000), sig);
  return status;
}

std::string SwarmLab::RunFile(int host, const std::string& name) const {
  return lab_->dir() + "/" + (host == 1 ? name : "h" + std::to_string(host) + "-" + name);
}

void SwarmLab::StartRun(const std::string& args, int host) {
  std::string project = project_;
  if (host != 1) {
    project = project_ + "-h" + std::to_string(host);
    std::string out;
    if (!fs::exists(project) && RunCommand({"git", "clone", "-q", project_, project}, &out, true) != 0) return;
  }
  std::string env;
  for (const auto& e : Env(host)) env += Quote(e) + " ";
  const std::string command = "cd " + Quote(project) + " && exec " + env + Quote(SPECSWARM_BINARY) + " run " + args +
                              " --json " + Quote(RunFile(host, "report.json")) + " > " + Quote(RunFile(host, "run.log")) +
                              " 2>&1";
  runs_[host].reset();
  if (auto run = lab_->Spawn(host, {"sh", "-c", command}, RunFile(host, "run-stderr.log").substr(lab_->dir().size() + 1))) {
    runs_[host].emplace(std::move(*run));
  }
}

int SwarmLab::WaitRun(std::chrono::seconds timeout, int host) {
  auto& run = runs_[host];
  const auto deadline = Clock::now() + timeout;
  while (run && run->Running()) {
    if (Clock::now() > deadline) {
      run->Stop(std::chrono::milliseconds(2000), SIGKILL);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run ? run->Stop() : -1;
}

void SwarmLab::KillRun(int sig) {
  if (runs_[1]) kill(runs_[1]->pid(), sig);
}

std::string SwarmLab::RunOutput(int host) const { return Slurp(RunFile(host, "run.log")); }

nlohmann::json SwarmLab::RunReport(int host) const {
  return nlohmann::json::parse(Slurp(RunFile(host, "report.json")), nullptr, false);
}

int SwarmLab::Specswarm(int host, const std::vector<std::string>& args, std::string* out, bool merge_stderr) {
  std::vector<std::string> argv = Env(host);
  argv.push_back(SPECSWARM_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(lab_->Wrap(host, argv), out, merge_stderr);
}

std::optional<ChildProcess> SwarmLab::SpawnSpecswarm(int host, const std::vector<std::string>& args,
                                                     const std::string& log_name, const std::vector<std::string>& env) {
  std::vector<std::string> argv = Env(host);
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(SPECSWARM_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return lab_->Spawn(host, argv, log_name);
}

std::string SwarmLab::Log(const std::string& log_name) const { return Slurp(lab_->dir() + "/" + log_name); }

nlohmann::json SwarmLab::Status(int host) {
  std::string out;
  Specswarm(host, {"status", "--json", "--port", std::to_string(kPort)}, &out);
  return nlohmann::json::parse(out, nullptr, false);
}

std::vector<std::string> SwarmLab::StrayProcesses(int host) {
  std::string out;
  RunCommand({"ip", "netns", "pids", lab_->Namespace(host)}, &out);
  std::istringstream pids(out);
  std::vector<std::string> stray;
  pid_t guardian = JoinPid(host), node = NodePid(host);
  for (std::string pid; pids >> pid;) {
    if (pid == std::to_string(guardian) || pid == std::to_string(node)) continue;
    std::string cmdline = Slurp("/proc/" + pid + "/cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.empty() || cmdline.find("avahi-daemon") != std::string::npos ||
        cmdline.find("dbus-daemon") != std::string::npos || cmdline.rfind("ip ", 0) == 0) {
      continue;
    }
    stray.push_back(pid + " " + cmdline);
  }
  return stray;
}

ReportCounts CountsOf(const nlohmann::json& report) {
  ReportCounts counts;
  if (!report.is_object() || !report.contains("summary")) return counts;
  counts.examples = report["summary"].value("example_count", -1);
  counts.failures = report["summary"].value("failure_count", -1);
  counts.pending = report["summary"].value("pending_count", -1);
  for (const auto& e : report["examples"]) counts.hosts[e.value("host", "")] += 1;
  return counts;
}

}  // namespace specswarm::testing
