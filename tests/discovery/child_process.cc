#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>

namespace specswarm::testing {

std::optional<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                Options options) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (options.pipes && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)) return std::nullopt;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    // Dies with the test process even when that is SIGKILLed by a CTest timeout (for children
    // that keep their credentials; daemons that drop root are swept by NetnsLab instead).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDWR);
    int log = options.log_path.empty() ? null
                                       : open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(options.pipes ? in[0] : null, 0);
    dup2(options.pipes ? out[1] : log, 1);
    dup2(options.pipes && options.merge_stderr ? out[1] : log, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  ChildProcess c;
  c.pid_ = pid;
  if (options.pipes) {
    close(in[0]);
    close(out[1]);
    c.in_ = in[1];
    c.out_ = out[0];
    fcntl(c.out_, F_SETFL, O_NONBLOCK);
  }
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_), in_(o.in_), out_(o.out_), buffer_(std::move(o.buffer_)),
      status_(o.status_), reaped_(o.reaped_) {
  o.pid_ = -1;
  o.in_ = o.out_ = -1;
  o.reaped_ = true;
}

ChildProcess::~ChildProcess() {
  Stop();
  if (in_ >= 0) close(in_);
  if (out_ >= 0) close(out_);
}

bool ChildProcess::Write(const std::string& text) {
  if (in_ < 0) return false;
  return ::write(in_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

void ChildProcess::CloseStdin() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

std::optional<std::string> ChildProcess::ReadLine(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (out_ < 0) {
      if (buffer_.empty()) return std::nullopt;
      return std::exchange(buffer_, std::string());  // a last line without '\n'
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()).count();
    if (left < 0) return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n == 0) {
      close(out_);
      out_ = -1;
      continue;
    }
    if (n > 0) buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool ChildProcess::Running() {
  if (reaped_ || pid_ < 0) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int ChildProcess::Stop(std::chrono::milliseconds grace, int sig) {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, sig);
    auto until = std::chrono::steady_clock::now() + grace;
    while (Running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output, bool merge_stderr) {
  auto child = ChildProcess::Spawn(argv, {.pipes = true, .log_path = "", .merge_stderr = merge_stderr});
  if (!child) return -1;
  child->CloseStdin();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (auto line = child->ReadLine(deadline))
    if (output) *output += *line + "\n";
  // stdout closed: wait for the exit status without signalling.
  while (child->Running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return child->Stop();
}

}  // namespace specswarm::testing
