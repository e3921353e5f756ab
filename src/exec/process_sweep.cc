#include "exec/process_sweep.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace specswarm::exec {
namespace {

struct ProcInfo {
  pid_t ppid = 0;
  char state = '?';
};

// pid -> parent and state, from /proc/PID/stat (the command name may hold spaces and
// parentheses: the fields after it start after the last ')').
std::map<pid_t, ProcInfo> ProcessTable() {
  std::map<pid_t, ProcInfo> table;
  DIR* dir = opendir("/proc");
  if (!dir) return table;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(entry->d_name) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    ProcInfo info;
    fields >> info.state >> info.ppid;
    if (fields) table[static_cast<pid_t>(pid)] = info;
  }
  closedir(dir);
  return table;
}

std::vector<pid_t> Descendants(pid_t root, const std::map<pid_t, ProcInfo>& table) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, info] : table) children.emplace(info.ppid, pid);
  std::vector<pid_t> out, todo{root};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

std::string CommandLine(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

void ReapChildren() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

Status BecomeSubreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return Status::Error(std::string("cannot become a child subreaper: ") + std::strerror(errno));
  }
  return Status::Ok();
}

void ReapOrphans(const std::vector<pid_t>& keep) {
  const std::set<pid_t> kept(keep.begin(), keep.end());
  const pid_t self = getpid();
  for (const auto& [pid, info] : ProcessTable()) {
    if (info.ppid == self && info.state == 'Z' && !kept.count(pid)) waitpid(pid, nullptr, WNOHANG);
  }
}

std::vector<EndedProcess> EndDescendants(std::chrono::milliseconds grace) {
  std::vector<EndedProcess> ended;
  const pid_t self = getpid();
  auto table = ProcessTable();
  for (pid_t pid : Descendants(self, table)) {
    if (table[pid].state == 'Z') continue;
    ended.push_back({pid, CommandLine(pid)});
    kill(pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    ReapChildren();
    table = ProcessTable();
    std::vector<pid_t> alive;
    for (pid_t pid : Descendants(self, table)) {
      if (table[pid].state != 'Z') alive.push_back(pid);
    }
    if (alive.empty()) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // What ignored TERM, and what was started meanwhile, goes now.
      for (pid_t pid : alive) {
        if (std::none_of(ended.begin(), ended.end(), [pid](const EndedProcess& e) { return e.pid == pid; })) {
          ended.push_back({pid, CommandLine(pid)});
        }
        kill(pid, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ReapChildren();
      if (std::chrono::steady_clock::now() >= deadline + std::chrono::seconds(5)) break;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ReapChildren();
  return ended;
}

}  // namespace specswarm::exec
