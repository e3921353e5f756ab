// The one home for what every process specswarm starts gets: the caller's environment with
// specswarm's variables on top, default signal handling (specswarm ignores SIGPIPE; a spec's
// `yes | head` must not), parallel_tests' TEST_ENV_NUMBER, and RunShell for a command whose
// output we keep. Header-only: every module that forks (exec's Ruby workers, sync's setup
// hooks, node's skew checks) shares it without depending on another.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

extern char** environ;

namespace specswarm {

// The TEST_ENV_NUMBER parallel_tests gives slot `slot` (1-based): "", "2", "3", ...; with
// first_is_1 (parallel_tests' --first-is-1) slot 1 gets "1".
inline std::string TestEnvNumber(int slot, bool first_is_1 = false) {
  if (slot <= 1 && !first_is_1) return "";
  return std::to_string(slot < 1 ? 1 : slot);
}

// This process's environment with `overrides` replacing or adding variables.
inline std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && overrides.count(entry.substr(0, eq))) continue;
    env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

// NUL-terminated pointers into `strings`, for execve; valid while `strings` lives unchanged.
inline std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In a forked child before exec (async-signal-safe): every signal back to its default
// disposition and none blocked, as a process started from a shell would have them.
inline void ResetSignalsInChild() {
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Runs `command` with /bin/sh in `dir` (stdin /dev/null, extra_env "NAME=value" on top of ours) and
// waits; gives its exit status (or 128+signal) and the last `output_tail` bytes of its output.
inline Status RunShell(const std::string& command, const std::string& dir, const std::vector<std::string>& extra_env,
                       int* exit_code, std::string* output, size_t output_tail = 16 * 1024) {
  std::map<std::string, std::string> overrides;
  for (const std::string& x : extra_env) {
    const size_t eq = x.find('=');
    overrides[x.substr(0, eq)] = eq == std::string::npos ? "" : x.substr(eq + 1);
  }
  std::vector<std::string> env_strings = EnvironmentWith(overrides);
  std::vector<char*> envp = CStrings(env_strings);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) return Status::Error(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ResetSignalsInChild();
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char**>(argv), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  output->clear();
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output->append(buf, static_cast<size_t>(n));
    if (output->size() > 2 * output_tail) output->erase(0, output->size() - output_tail);
  }
  ::close(fds[0]);
  if (output->size() > output_tail) output->erase(0, output->size() - output_tail);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return Status::Ok();
}


}  // namespace specswarm
