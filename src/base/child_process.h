// The one home for what every process specswarm starts gets: the caller's environment with
// specswarm's variables on top, default signal handling (specswarm ignores SIGPIPE; a spec's
// `yes | head` must not), and parallel_tests' TEST_ENV_NUMBER. Header-only: every module that
// forks (exec's Ruby workers, sync's setup hooks) shares it without depending on another.
#pragma once

#include <csignal>
#include <map>
#include <string>
#include <vector>

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

}  // namespace specswarm
