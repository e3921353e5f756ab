#include "exec/ruby_worker.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/child_process.h"

namespace specswarm::exec {
namespace {

// The worker's channels, at fixed numbers in the worker; its stdin stays the caller's.
constexpr int kEventFdInChild = 3;
constexpr int kCommandFdInChild = 4;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return "unknown status";
}

// Command fields are %-escaped so a tab or newline in a path cannot break the line protocol.
std::string Escape(const std::string& field) {
  std::string out;
  for (char c : field) {
    if (c == '%' || c == '\t' || c == '\n' || c == '\r' || c == '\x1f') {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : "\x1f") + Escape(id);
  return out;
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

bool WriteFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  close(fd);
  return ok;
}

// In a forked child (async-signal-safe calls only): a mount namespace of its own, as root
// directly, otherwise inside a user namespace that maps the user to itself (the specs still
// run as the same uid and gid).
bool EnterPrivateMountNamespace(uid_t uid, gid_t gid) {
  if (unshare(CLONE_NEWNS) != 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    char map[64];
    WriteFile("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1", static_cast<unsigned>(uid), static_cast<unsigned>(uid));
    if (!WriteFile("/proc/self/uid_map", map)) return false;
    snprintf(map, sizeof map, "%u %u 1", static_cast<unsigned>(gid), static_cast<unsigned>(gid));
    if (!WriteFile("/proc/self/gid_map", map)) return false;
  }
  return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

// `target` becomes an overlay: what it held when the slot started shows through, and what the
// slot writes (or deletes) lands in `layers`/upper, never in the project's directory. Where
// overlayfs is not allowed, the slot gets an empty directory of its own instead.
bool MountPrivateTmp(const char* layers, const char* target, uid_t uid, gid_t gid) {
  if (!EnterPrivateMountNamespace(uid, gid)) return false;
  char upper[4096], work[4096], empty[4096], options[12800];
  snprintf(upper, sizeof upper, "%s/upper", layers);
  snprintf(work, sizeof work, "%s/work", layers);
  snprintf(empty, sizeof empty, "%s/empty", layers);
  snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", target, upper, work);
  if (mount("overlay", target, "overlay", 0, options) == 0) return true;
  strncat(options, ",userxattr", sizeof options - strlen(options) - 1);
  if (mount("overlay", target, "overlay", 0, options) == 0) return true;
  return mount(empty, target, nullptr, MS_BIND, nullptr) == 0;
}

}  // namespace

Status CheckPrivateTmp() {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  pid_t pid = fork();
  if (pid < 0) return Status::Error(Errno("fork"));
  if (pid == 0) _exit(EnterPrivateMountNamespace(uid, gid) ? 0 : 1);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return Status::Error("this system allows no private mount namespace (neither as root nor in a user namespace)");
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
  // The scratch directory is private (mkdtemp); O_NOFOLLOW all the same, never a symlink.
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log_fd < 0) {
    for (int fd : {commands[0], commands[1], events[0], events[1]}) close(fd);
    return Status::Error(Errno("cannot write " + log_path_));
  }
  // specswarm's own stdin may be closed (a daemon, CI): the specs then read /dev/null.
  const bool stdin_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;

  std::string preload;
  for (const auto& p : config_.preload) preload += (preload.empty() ? "" : ":") + p;
  std::vector<std::string> env = EnvironmentWith({
      {"TEST_ENV_NUMBER", TestEnvNumber(slot_, config_.first_is_1)},
      {"SPECSWARM_SLOT", std::to_string(slot_)},
      {"SPECSWARM_RESULT_FD", std::to_string(kEventFdInChild)},
      {"SPECSWARM_COMMAND_FD", std::to_string(kCommandFdInChild)},
      {"SPECSWARM_CAPTURE", capture_path_},
      {"SPECSWARM_MODE", config_.isolation == Isolation::kReset ? "reset" : "fork"},
      {"SPECSWARM_PRELOAD", preload},
      {"SPECSWARM_TARGETS", config_.targets_file},
      {"SPECSWARM_BUNDLER", config_.bundler ? "1" : "0"},
  });
  std::vector<std::string> argv = {config_.ruby, config_.shim};
  argv.insert(argv.end(), config_.rspec_args.begin(), config_.rspec_args.end());
  auto c_argv = CStrings(argv);
  auto c_env = CStrings(env);
  const pid_t parent = getpid();
  std::string private_tmp, project_tmp;
  if (config_.private_tmp) {
    private_tmp = config_.scratch_dir + "/tmp-" + std::to_string(slot_);
    project_tmp = config_.project_dir + "/tmp";
    mkdir(private_tmp.c_str(), 0700);
    for (const char* layer : {"/upper", "/work", "/empty"}) mkdir((private_tmp + layer).c_str(), 0700);
    mkdir(project_tmp.c_str(), 0755);  // the mount point; most projects have one already
  }
  const uid_t uid = getuid();
  const gid_t gid = getgid();

  pid_t pid = fork();
  if (pid < 0) return Status::Error(Errno("fork"));
  if (pid == 0) {
    // Own process group, so a stop can take the worker and everything it forked; and gone
    // with specswarm if specswarm is killed.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    ResetSignalsInChild();
    if (!private_tmp.empty() && !MountPrivateTmp(private_tmp.c_str(), project_tmp.c_str(), uid, gid)) {
      dprintf(log_fd, "specswarm: slot %d shares the project's tmp/ (no private mount namespace)\n", slot_);
    }
    if (!stdin_open) {
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0 && null_fd != STDIN_FILENO) dup2(null_fd, STDIN_FILENO);
    }
    // Move the pipe ends above the target numbers first, so no dup2 overwrites the other.
    int event_w = fcntl(events[1], F_DUPFD_CLOEXEC, 10);
    int command_r = fcntl(commands[0], F_DUPFD_CLOEXEC, 10);
    dup2(event_w, kEventFdInChild);
    dup2(command_r, kCommandFdInChild);
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
  child_pid_ = -1;
  command_fd_ = commands[1];
  event_fd_ = events[0];
  fcntl(event_fd_, F_SETFL, fcntl(event_fd_, F_GETFL) | O_NONBLOCK);
  pidfd_ = PidfdOpen(pid);
  if (pidfd_ >= 0) fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
  exit_description_.clear();
  partial_.clear();
  return Status::Ok();
}

bool RubyWorker::ReadEvents(std::vector<Result<WorkerEvent>>* events) {
  if (event_fd_ < 0) return false;
  char buffer[65536];
  for (int round = 0; round < 64; ++round) {
    ssize_t n = read(event_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      close(event_fd_);
      event_fd_ = -1;
      break;
    }
    partial_.append(buffer, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buffer) break;
  }
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl == start) continue;
    auto event = ParseWorkerEvent(std::string_view(partial_).substr(start, nl - start));
    if (event.ok()) {
      if (auto* child = std::get_if<ChildEvent>(&*event)) child_pid_ = child->pid;
      if (auto* exited = std::get_if<ChildExitedEvent>(&*event); exited && exited->pid == child_pid_) child_pid_ = -1;
    }
    events->push_back(std::move(event));
  }
  partial_.erase(0, start);
  return event_fd_ >= 0;
}

bool RubyWorker::Exited() {
  if (pid_ > 0) Reap(/*wait=*/false);
  return pid_ <= 0;
}

Status RubyWorker::Send(const std::vector<std::string>& fields) {
  if (command_fd_ < 0) return Status::Error("slot " + std::to_string(slot_) + " takes no more commands");
  std::string line;
  for (const auto& f : fields) line += (line.empty() ? "" : "\t") + f;
  line += "\n";
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = write(command_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(Errno("slot " + std::to_string(slot_) + " stopped listening"));
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RubyWorker::Run(int unit_id, const std::string& file, const std::vector<std::string>& ids,
                       const std::vector<std::string>& except_ids) {
  return Send({"unit", std::to_string(unit_id), Escape(file), JoinIds(ids), JoinIds(except_ids)});
}

Status RubyWorker::Persist(const std::string& results_file) { return Send({"persist", Escape(results_file)}); }

void RubyWorker::CloseInput() {
  if (command_fd_ >= 0) {
    close(command_fd_);
    command_fd_ = -1;
  }
}

void RubyWorker::KillChild() {
  if (child_pid_ <= 0) return;
  // The child leads its own group; before it has made it (a race at fork), kill it alone.
  if (killpg(child_pid_, SIGKILL) != 0) kill(child_pid_, SIGKILL);
}

void RubyWorker::Stop() {
  CloseInput();
  KillChild();
  if (pid_ > 0) {
    killpg(pid_, SIGKILL);
    Reap(/*wait=*/true);
  }
  CloseFds();
}

void RubyWorker::CloseFds() {
  for (int* fd : {&event_fd_, &pidfd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
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
    // The child of a dead worker is an orphan now; it and what it started go with the worker.
    KillChild();
    child_pid_ = -1;
    killpg(pid_, SIGKILL);
    pid_ = -1;
    if (pidfd_ >= 0) {
      close(pidfd_);
      pidfd_ = -1;
    }
  }
}

std::string RubyWorker::BootLog(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "[...]\n" + text.substr(text.size() - max_bytes);
  return text;
}

}  // namespace specswarm::exec
