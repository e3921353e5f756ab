// ChildProcess: a process the network tests started, owned by PID. The destructor stops it
// (SIGTERM, then SIGKILL after a grace period) and reaps it, so a failing test leaves nothing
// running. With pipes it also feeds stdin and reads stdout line by line with deadlines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace specswarm::testing {

class ChildProcess {
 public:
  struct Options {
    bool pipes = false;     // stdin/stdout as pipes; otherwise both go to /dev/null and log
    std::string log_path;   // stderr (and stdout without pipes) appended here; empty: /dev/null
    bool merge_stderr = false;  // stderr into the stdout pipe instead
  };
  // Starts argv[0] (looked up in PATH). Never returns a child that failed to fork.
  static std::optional<ChildProcess> Spawn(const std::vector<std::string>& argv, Options options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool Write(const std::string& text);
  // The next stdout line, or nullopt at the deadline or EOF.
  std::optional<std::string> ReadLine(std::chrono::steady_clock::time_point deadline);
  void CloseStdin();
  // Signals and reaps; returns the exit status (or -signal). Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000), int sig = 15);
  bool Running();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
  int status_ = 0;
  bool reaped_ = false;
};

// Runs argv to completion and returns its exit code with stdout in *output (if given).
// With `merge_stderr`, *output holds stderr too.
int RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr,
               bool merge_stderr = false);

}  // namespace specswarm::testing
