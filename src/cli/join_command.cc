// `specswarm join [--slots N] [--port PORT] [--peer HOST:PORT]...`: this machine's node in the
// swarm, in the foreground, logging one line per event to stderr until SIGINT/SIGTERM.
//
// Two processes, so that nothing a run started outlives `join`, even killed with SIGKILL: the
// process the user started stays a small guardian (a child subreaper) and the node runs in its
// child. If the node dies, every orphan below it is re-parented to the guardian, which ends
// them; if the guardian dies, the node is told by a parent-death signal and leaves as on
// SIGTERM, handing its units back. Exit 0 after a graceful leave, 2 when it cannot start.
//
// A run executes its submitter's code as the user running `join`, so `join` needs the swarm key
// (only members may submit) and refuses to run as root unless told --allow-root.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/version.h"
#include "exec/process_sweep.h"
#include "node/join_daemon.h"
#include "node/state_dir.h"
#include "node/swarm_key.h"

namespace specswarm::cli {
namespace {

struct JoinCliOptions {
  int slots = 0;
  int port = 7070;
  std::vector<std::string> peers;
  bool no_mdns = false;
  std::string host;
  int proto = node::kProtocolVersion;
  bool allow_root = false;
};

volatile sig_atomic_t g_node_pid = 0;

void ForwardToNode(int sig) {
  if (g_node_pid > 0) kill(g_node_pid, sig);
}

int RunNode(const JoinCliOptions& o, const std::vector<discovery::Seed>& seeds, const node::SwarmKey& key) {
  // Specs run here on behalf of others: they must not read the terminal `join` was started from.
  if (int devnull = open("/dev/null", O_RDONLY); devnull >= 0) {
    dup2(devnull, STDIN_FILENO);
    if (devnull != STDIN_FILENO) close(devnull);
  }
  node::JoinOptions options;
  options.slots = o.slots > 0 ? o.slots : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.port = o.port;
  options.peers = seeds;
  options.state_dir = node::StateDir();
  options.host = o.host.empty() ? Hostname() : o.host;
  options.version = std::string(kVersion);
  options.mdns = !o.no_mdns;
  options.proto = o.proto;
  options.key = key;
  node::JoinDaemon daemon(options);
  if (Status s = daemon.Start(); !s.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", s.message().c_str());
    return 2;
  }
  std::signal(SIGINT, [](int) { node::JoinDaemon::Stop(); });
  std::signal(SIGTERM, [](int) { node::JoinDaemon::Stop(); });
  // Daemons a spec starts are re-parented to the node, which ends them with their run.
  (void)exec::BecomeSubreaper();
  daemon.Serve();
  exec::EndDescendants(std::chrono::seconds(2));
  return 0;
}

int RunJoin(const JoinCliOptions& o) {
  auto seeds = discovery::ParseSeeds(o.peers);
  if (!seeds.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", seeds.status().message().c_str());
    return 2;
  }
  if (geteuid() == 0 && !o.allow_root) {
    std::fprintf(stderr, "specswarm: join runs other members' code as this user, and this user is root: run it as an "
                         "ordinary user, or pass --allow-root if this machine is meant for it (a container, a CI box)\n");
    return 2;
  }
  const std::string key_path = node::DefaultSwarmKeyPath();
  auto key = node::LoadSwarmKey(key_path);
  if (!key.ok() || !*key) {
    std::fprintf(stderr, "specswarm: %s\n", key.ok() ? node::NoSwarmKeyAdvice(key_path).c_str() : key.status().message().c_str());
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("join"));
  spdlog::set_pattern("%H:%M:%S specswarm join: %v");
  std::signal(SIGPIPE, SIG_IGN);
  if (Status s = exec::BecomeSubreaper(); !s.ok()) {
    std::fprintf(stderr, "specswarm: %s\n", s.message().c_str());
    return 2;
  }
  const pid_t guardian = getpid();
  const pid_t node_pid = fork();
  if (node_pid < 0) {
    std::perror("specswarm: fork");
    return 2;
  }
  if (node_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != guardian) return 0;  // the guardian died before we could ask
    const int code = RunNode(o, *seeds, **key);
    std::fflush(nullptr);
    std::_Exit(code);
  }
  g_node_pid = node_pid;
  std::signal(SIGINT, ForwardToNode);
  std::signal(SIGTERM, ForwardToNode);
  int status = 0;
  while (waitpid(node_pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever the node left (it was killed, say) was re-parented here: end it.
  auto leftovers = exec::EndDescendants(std::chrono::seconds(2));
  if (!leftovers.empty()) {
    std::fprintf(stderr, "specswarm: ended %zu process%s the node left running\n", leftovers.size(),
                 leftovers.size() == 1 ? "" : "es");
  }
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "specswarm: the node was killed by signal %d\n", WTERMSIG(status));
    return 1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

void AddJoinCommand(CLI::App& app, CommandAction* chosen) {
  auto options = std::make_shared<JoinCliOptions>();
  CLI::App* cmd = app.add_subcommand("join", "Offer this machine's idle cores to the swarm (runs in the foreground)");
  cmd->add_option("-n,--slots", options->slots, "Slots to offer (default: number of cores)")
      ->check(CLI::Range(1, 1024))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--port", options->port, "TCP port to serve on (default 7070; 0: any free port, logged)")->check(CLI::Range(0, 65535));
  cmd->add_option("--peer", options->peers, "A peer to list in status where mDNS does not reach (repeatable)");
  cmd->add_flag("--no-mdns", options->no_mdns, "Do not advertise on or browse the LAN");
  cmd->add_option("--host", options->host, "The name peers and results show (default: the host name)");
  cmd->add_flag("--allow-root", options->allow_root, "Run as root (members' specs then run as root on this machine)");
  // Tests pose as a node of another protocol version.
  cmd->add_option("--protocol-version", options->proto, "")->group("");
  cmd->callback([chosen, options] { *chosen = [options] { return RunJoin(*options); }; });
}

}  // namespace specswarm::cli
