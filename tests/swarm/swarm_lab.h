// SwarmLab: a swarm of real `specswarm join` nodes in a NetnsLab (one network namespace, one
// avahi-daemon and one state directory per host, a bridge between them), and a coordinator's
// project on host 1 that the other hosts cannot read: each peer runs with a private empty mount
// over the coordinator's folder, so a peer that ran a spec proves the code travelled as a pack.
//
// Everything the lab starts is owned by PID (ChildProcess) and stopped by the destructor, then
// the NetnsLab deletes the namespaces, even when a test fails.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netns_lab.h"

namespace specswarm::testing {

// A generated suite: `files` spec files; file i sleeps `seconds` in one example, every third
// has a failing example, every fourth a pending one.
struct SleepySuite {
  int files = 12;
  double seconds = 0.5;
  int Examples() const { return files * 2 + Failures() + Pending(); }
  int Failures() const { return (files + 2) / 3; }
  int Pending() const { return (files + 3) / 4; }
};

class SwarmLab {
 public:
  // Builds `hosts` hosts with their daemons and writes the suite into host 1's project.
  static std::unique_ptr<SwarmLab> Create(const std::string& scenario, int hosts, const SleepySuite& suite);
  // Same, with the project's files written by `write_suite(project_dir)` (committed after).
  static std::unique_ptr<SwarmLab> Create(const std::string& scenario, int hosts,
                                          const std::function<void(const std::string&)>& write_suite);
  ~SwarmLab();

  NetnsLab& net() { return *lab_; }
  const std::string& project() const { return project_; }
  std::string Address(int host) const { return lab_->Address(host); }
  static constexpr int kPort = 7070;

  // The swarm key: Create makes one and installs it on every host. InstallKey puts another key
  // file on `host` ("" removes it); NewKeyFile makes a fresh key and returns its file.
  const std::string& KeyFile() const { return key_file_; }
  bool InstallKey(int host, const std::string& key_file);
  std::string NewKeyFile(const std::string& name);

  // `specswarm join --allow-root --slots 2` on `host` (its own HOME and XDG folders, so its own
  // key; the project hidden).
  // `extra` are more arguments (a later --slots wins), `env` more "NAME=value" for the node and
  // everything it runs. Called again for a host, it restarts that host's join.
  bool StartJoin(int host, const std::vector<std::string>& extra = {}, const std::vector<std::string>& env = {});
  // Waits until `host`'s join log holds `text`.
  bool WaitForLog(int host, const std::string& text, std::chrono::milliseconds timeout);
  std::string JoinLog(int host) const;
  pid_t JoinPid(int host);             // the guardian, the PID `join` was started as
  pid_t NodePid(int host);             // the node below it
  int StopJoin(int host, int sig = 15);  // returns the exit status

  // `specswarm run ARGS --json REPORT` in the project on `host`, in the background. Host 1 runs
  // in project(); another host in a clone of it of its own (made at its first run, hidden from
  // the joins like the project), so that runs on several hosts may go at once.
  void StartRun(const std::string& args, int host = 1);
  // A change to the project after Create (not committed: the snapshot carries it).
  void WriteProjectFile(const std::string& relative, const std::string& content);
  // Waits for the run to end; returns its exit code, -1 on timeout (the run is then killed).
  int WaitRun(std::chrono::seconds timeout, int host = 1);
  void KillRun(int sig);
  std::string RunOutput(int host = 1) const;  // stdout and stderr
  nlohmann::json RunReport(int host = 1) const;
  pid_t RunPid() const { return runs_.count(1) && runs_.at(1) ? runs_.at(1)->pid() : -1; }

  // `specswarm ARGS` on `host` with its HOME and XDG folders; returns the exit code, with stdout
  // (and stderr when `merge_stderr`) in *out.
  int Specswarm(int host, const std::vector<std::string>& args, std::string* out, bool merge_stderr = false);
  // `specswarm ARGS` on `host` with its HOME and XDG folders (and `env`), in the background,
  // stderr and stdout into the lab's log `log_name` (read with Log). Owned by the caller.
  std::optional<ChildProcess> SpawnSpecswarm(int host, const std::vector<std::string>& args, const std::string& log_name,
                                             const std::vector<std::string>& env = {});
  std::string Log(const std::string& log_name) const;
  // `specswarm status --json` on `host`.
  nlohmann::json Status(int host);
  // Processes in `host`'s namespace that are neither its daemons nor `join` itself.
  std::vector<std::string> StrayProcesses(int host);

 private:
  SwarmLab() = default;
  std::vector<std::string> Env(int host) const;
  std::string RunFile(int host, const std::string& name) const;  // report.json, run.log of host's run

  std::unique_ptr<NetnsLab> lab_;
  std::string project_;
  std::string coord_dir_;  // hidden from the peers
  std::string key_file_;
  std::map<int, std::optional<ChildProcess>> joins_;
  std::map<int, std::optional<ChildProcess>> runs_;
};

// Counts of an RSpec JSON report, and the hosts its examples ran on.
struct ReportCounts {
  int examples = -1, failures = -1, pending = -1;
  std::map<std::string, int> hosts;  // host -> examples
};
ReportCounts CountsOf(const nlohmann::json& report);

}  // namespace specswarm::testing
