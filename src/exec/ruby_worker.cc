#include "exec/ruby_worker.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace specswarm::exec {
namespace {

constexpr int kEventFdInChild = 3;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// The parent's environment with the slot's variables set on top.
std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && overrides.count(entry.substr(0, eq))) continue;
    env.push_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return "unknown status";
}

}  // namespace

std::string TestEnvNumber(int slot, bool first_is_1) {
  if (slot == 1 && !first_is_1) return "";
  return std::to_string(slot);
}

RubyWorker::RubyWorker(int slot, const WorkerConfig& config)
    : slot_(slot),
      config_(config),
      log_path_(config.scratch_dir + "/slot-" + std::to_string(slot) + ".log"),
      capture_path_(config.scratch_dir + "/slot-" + std::to_string(slot) + ".out") {}

RubyWorker::~RubyWorker() { Stop(); }

Status RubyWorker::Start() {
  int commands[2], events[2];
  if (pipe2(commands, O_CLOEXEC) != 0) return Status::Error(Errno("pipe"));
  if (pipe2(events, O_CLOEXEC) != 0) {
    close(commands[0]);
    close(commands[1]);
    return Status::Error(Errno("pipe"));
  }
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::Error(Errno("cannot write " + log_path_));

  std::string preload;
  for (const auto& p : config_.preload) preload += (preload.empty() ? "" : ":") + p;
  std::vector<std::string> env = BuildEnvironment({
      {"TEST_ENV_NUMBER", TestEnvNumber(slot_, config_.first_is_1)},
      {"SPECSWARM_SLOT", std::to_string(slot_)},
      {"SPECSWARM_RESULT_FD", std::to_string(kEventFdInChild)},
      {"SPECSWARM_CAPTURE", capture_path_},
      {"SPECSWARM_MODE", config_.isolation == Isolation::kReset ? "reset" : "fork"},
      {"SPECSWARM_PRELOAD", preload},
  });
  std::vector<std::string> argv = {config_.ruby, config_.shim};
  argv.insert(argv.end(), config_.rspec_args.begin(), config_.rspec_args.end());
  auto c_argv = CStrings(argv);
  auto c_env = CStrings(env);

  pid_t pid = fork();
  if (pid < 0) return Status::Error(Errno("fork"));
  if (pid == 0) {
    // Own process group, so a stop can take the worker and everything it forked.
    setpgid(0, 0);
    dup2(commands[0], STDIN_FILENO);
    dup2(events[1], kEventFdInChild);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (chdir(config_.project_dir.c_str()) != 0) _exit(126);
    execvpe(c_argv[0], c_argv.data(), c_env.data());
    dprintf(STDERR_FILENO, "cannot run %s: %s\n", c_argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  close(commands[0]);
  close(events[1]);
  close(log_fd);
  pid_ = pid;
  command_fd_ = commands[1];
  event_fd_ = events[0];
  exit_description_.clear();
  partial_.clear();
  return Status::Ok();
}

bool RubyWorker::ReadEvents(std::vector<Result<WorkerEvent>>* events) {
  if (event_fd_ < 0) return false;
  char buffer[65536];
  ssize_t n = read(event_fd_, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    close(event_fd_);
    event_fd_ = -1;
    Reap(/*wait=*/true);
    return false;
  }
  partial_.append(buffer, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl > start) events->push_back(ParseWorkerEvent(std::string_view(partial_).substr(start, nl - start)));
  }
  partial_.erase(0, start);
  return true;
}

Status RubyWorker::Run(int unit_id, const std::string& file, const std::vector<std::string>& ids) {
  nlohmann::json command = {{"unit", unit_id}, {"file", file}, {"ids", ids}};
  std::string line = command.dump() + "\n";
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = write(command_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(Errno("slot " + std::to_string(slot_) + " stopped listening"));
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

void RubyWorker::KillUnit(int pid) {
  if (pid > 0) kill(pid, SIGKILL);
}

void RubyWorker::Stop() {
  if (command_fd_ >= 0) {
    close(command_fd_);
    command_fd_ = -1;
  }
  if (pid_ > 0) {
    // An idle worker exits at once on end of input; give it a moment, then take the group.
    for (int i = 0; i < 50 && pid_ > 0; ++i) {
      Reap(/*wait=*/false);
      if (pid_ > 0) usleep(10 * 1000);
    }
    if (pid_ > 0) {
      killpg(pid_, SIGKILL);
      Reap(/*wait=*/true);
    }
  }
  if (event_fd_ >= 0) {
    close(event_fd_);
    event_fd_ = -1;
  }
}

void RubyWorker::Reap(bool wait) {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, wait ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exit_description_ = r == pid_ ? DescribeWaitStatus(status) : "gone";
    // Anything the worker forked and left behind goes with it.
    killpg(pid_, SIGKILL);
    pid_ = -1;
  }
}

std::string RubyWorker::BootLog(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "[...]\n" + text.substr(text.size() - max_bytes);
  return text;
}

}  // namespace specswarm::exec
