// `specswarm run [PATHS...] [options] [-- RSPEC_ARGS]`: runs a project's specs on local slots
// from one dynamic queue and reports like rspec. (The swarm adds peers' slots to the same queue.)
#include <algorithm>
#include <fstream>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/console_report.h"
#include "cli/report_files.h"
#include "cli/version.h"
#include "exec/process_sweep.h"
#include "exec/shim_path.h"
#include "node/reservation.h"
#include "node/state_dir.h"
#include "node/swarm_key.h"
#include "node/swarm_run.h"
#include "node/spec_files.h"
#include "node/spec_plan.h"
#include "node/timing_history.h"
#include "discovery/seed_list.h"
#include "sync/snapshot.h"

namespace specswarm::cli {
namespace {

namespace fs = std::filesystem;

struct RunOptions {
  std::vector<std::string> paths;
  int slots = -1;
  std::string format = "progress";
  std::string junit;
  std::string json;
  double timeout = 900;
  double boot_timeout = 600;
  bool no_bundler = false;
  bool shared_tmp = false;
  std::string isolation = "reset";
  bool first_is_1 = false;
  std::vector<std::string> preload;
  bool no_preload = false;
  std::string color = "auto";
  std::vector<std::string> rspec_args;
  // The swarm.
  bool local = false;
  std::vector<std::string> peers;
  double wait = 10;
  bool no_mdns = false;
};

constexpr const char* kHistoryPath = ".specswarm/timings";
constexpr const char* kParallelTestsLog = "tmp/parallel_runtime_rspec.log";

int Fail(const std::string& line) {
  std::fprintf(stderr, "specswarm: %s\n", line.c_str());
  return 2;
}

bool OnPath(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon - start);
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return false;
}

bool HasFilterArgs(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    for (const char* f : {"--tag", "-t", "--example", "-e", "--example-matches", "-E", "--only-failures", "--next-failure"}) {
      if (a == f || a.rfind(std::string(f) + "=", 0) == 0) return true;
    }
  }
  return false;
}

Result<node::TimingHistory> LoadHistory() {
  auto history = node::TimingHistory::Load(kHistoryPath);
  if (!history.ok() || !history->empty()) return history;
  return node::TimingHistory::LoadParallelRuntimeLog(kParallelTestsLog);
}

// Records what this run learned; files run with line filters, or under RSpec filters, are not
// timed whole and are left as they were.
void RecordHistory(node::TimingHistory history, const node::RunReport& report,
                   const std::vector<node::SpecFile>& files, bool filtered) {
  if (filtered || report.interrupted) return;
  for (const auto& file : files) {
    if (!file.targets.empty()) continue;
    std::vector<const exec::UnitResult*> units;
    bool complete = true;
    for (const auto& unit : report.units()) {
      if (unit.file != file.path) continue;
      units.push_back(&unit);
      complete = complete && unit.outcome == exec::UnitOutcome::kCompleted;
    }
    if (complete && !units.empty()) history.Record(file.path, file.content_hash, units);
  }
  Status saved = history.Save(kHistoryPath);
  if (!saved.ok()) std::fprintf(stderr, "specswarm: %s\n", saved.message().c_str());
}

bool EnvFlag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::string(value) != "0" && std::string(value) != "false";
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool UseColor(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never" || std::getenv("NO_COLOR")) return false;
  return isatty(STDOUT_FILENO);
}

// One line per peer seen: used (host, slots, files) or not, and why.
void PrintPeers(const std::vector<node::PeerSummary>& peers) {
  if (peers.empty()) return;
  std::printf("\nPeers:\n");
  for (const auto& p : peers) {
    if (p.ready_after >= 0) {
      std::printf("  %s (%s): %d slot%s, %d file%s, pulling %.1f s after the start, %.1f KB of code sent\n", p.host.c_str(),
                  p.endpoint.c_str(), p.slots, p.slots == 1 ? "" : "s", p.files, p.files == 1 ? "" : "s", p.ready_after,
                  static_cast<double>(p.pack_bytes) / 1024);
    } else {
      std::printf("  %s (%s): not used: %s\n", p.host.c_str(), p.endpoint.c_str(), p.why.empty() ? p.state.c_str() : p.why.c_str());
    }
  }
}

int RunSpecs(const RunOptions& options) {
  // The swarm's log lines (a dropped message, a late result) go to stderr, never among the dots.
  spdlog::set_default_logger(spdlog::stderr_color_mt("run"));
  spdlog::set_pattern("specswarm: %v");
  spdlog::set_level(spdlog::level::warn);
  const std::string project = fs::current_path().string();
  if (Status s = node::CheckRubyProject(project); !s.ok()) return Fail(s.message());
  std::string tmp_note;  // said in the header, not as an error: the run goes on without it
  const char* ruby_env = std::getenv("SPECSWARM_RUBY");
  const std::string ruby = ruby_env && *ruby_env ? ruby_env : "ruby";
  if (!OnPath(ruby)) {
    return Fail("cannot find '" + ruby + "' on PATH: install Ruby (apt-get install ruby ruby-rspec)");
  }
  auto shim = exec::FindWorkerShim();
  if (!shim.ok()) return Fail(shim.status().message());
  auto files = node::FindSpecFiles(project, options.paths);
  if (!files.ok()) return Fail(files.status().message());
  auto history = LoadHistory();
  if (!history.ok()) return Fail(history.status().message());

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int slots = options.slots >= 0 ? options.slots : cores;
  // Split long files for the capacity we can count on now: the local slots (or one peer's).
  auto units = node::PlanUnits(*files, *history, node::PlanOptions{std::max(slots, 1)});
  int used_slots = std::min<int>(slots, static_cast<int>(units.size()));

  auto seeds = discovery::ParseSeeds(options.peers);
  if (!seeds.ok()) return Fail(seeds.status().message());
  if (options.local && slots == 0) return Fail("--local with --slots 0 leaves nothing to run on: drop one of them");
  // Membership in a swarm. Without a key the run still goes, on this machine's slots; a key
  // file that is there but unusable is an error, unless the run was asked to stay local anyway.
  const std::string key_path = node::DefaultSwarmKeyPath();
  auto loaded_key = node::LoadSwarmKey(key_path);
  if (!loaded_key.ok() && !options.local) return Fail(loaded_key.status().message());
  const std::optional<node::SwarmKey> swarm_key = loaded_key.ok() ? *loaded_key : std::nullopt;

  std::error_code ec;
  // A fresh private directory (mode 0700) every run: never one that already exists.
  std::string scratch_template = (fs::temp_directory_path(ec) / "specswarm-XXXXXX").string();
  if (!mkdtemp(scratch_template.data())) {
    return Fail("cannot create a scratch directory in " + fs::temp_directory_path(ec).string() + ": " +
                std::strerror(errno) + " (set TMPDIR to a writable directory)");
  }
  const fs::path scratch = scratch_template;
  // Every process the workers start sees the run's targets as `rspec` would see its arguments.
  std::vector<std::string> targets;
  for (const auto& file : *files) {
    if (file.targets.empty()) targets.push_back(file.path);
    for (const auto& target : file.targets) targets.push_back(target);
  }
  const std::string targets_file = (scratch / "targets").string();
  if (Status s = node::WriteTargetsFile(targets_file, targets); !s.ok()) return Fail(s.message());

  // One machine, one budget: when this machine also runs `join`, the run's local slots come out
  // of that node's slots, so two runs here share the cores instead of doubling them.
  zmq::context_t zmq_context(1);
  const std::string run_id = node::RandomHexId();
  std::optional<node::Reservation> reservation;
  std::string budget_note;
  if (used_slots > 0 && swarm_key) {
    reservation = node::Reservation::Ask(zmq_context, node::StateDir(), *swarm_key, run_id, Hostname(), used_slots,
                                         std::chrono::milliseconds(1000));
    if (reservation && reservation->granted() < used_slots) {
      const int granted = std::max(reservation->granted(), 1);
      budget_note = "this machine's `specswarm join` had " + std::to_string(reservation->granted()) + " of " +
                    std::to_string(used_slots) + " slots idle (other runs hold the rest): using " +
                    std::to_string(granted) + " local slot" + (granted == 1 ? "" : "s");
      used_slots = granted;
    }
    if (const int port = node::Reservation::RecordedPort(node::StateDir()); !reservation && port > 0) {
      budget_note = "this machine's `specswarm join` (port " + std::to_string(port) +
                    ") did not answer, so this run's slots are not counted against its budget: it holds another swarm "
                    "key (restart it after `specswarm key import`), or it has stopped";
    }
  }

  node::SwarmRunOptions run;
  run.local.slots = used_slots;
  run.local.unit_timeout = options.timeout;
  run.local.boot_timeout = options.boot_timeout;
  run.fail_fast = std::any_of(options.rspec_args.begin(), options.rspec_args.end(), [](const std::string& a) {
    return a == "--fail-fast" || a.rfind("--fail-fast=", 0) == 0;
  });
  exec::WorkerConfig& worker = run.local.worker;
  worker.project_dir = project;
  worker.shim = *shim;
  worker.ruby = ruby;
  worker.rspec_args = options.rspec_args;
  worker.isolation = options.isolation == "reset" ? exec::Isolation::kReset : exec::Isolation::kFork;
  worker.scratch_dir = scratch.string();
  worker.first_is_1 = options.first_is_1;
  worker.targets_file = targets_file;
  const bool shared_tmp = options.shared_tmp || EnvFlag("SPECSWARM_SHARED_TMP");
  if (used_slots > 1 && !shared_tmp) {
    Status tmp = exec::CheckPrivateTmp();
    worker.private_tmp = tmp.ok();
    if (!tmp.ok()) tmp_note = "every slot shares the project's tmp/: " + tmp.message();
  }
  worker.bundler = !options.no_bundler && !EnvFlag("SPECSWARM_NO_BUNDLER");
  if (!options.no_preload) {
    worker.preload = options.preload;
    if (options.preload.empty() && fs::exists("spec/rails_helper.rb")) worker.preload.push_back("spec/rails_helper.rb");
  }

  std::printf("specswarm %s: %zu spec files as %zu units on %d local slot%s\n", std::string(kVersion).c_str(),
              files->size(), units.size(), used_slots, used_slots == 1 ? "" : "s");
  // Which tree this run tested, uncommitted changes included, so a result can be traced to code
  // and so peers can be sent exactly that tree.
  auto snapshot = sync::TakeSnapshot(project);
  if (snapshot.ok()) {
    std::printf("Snapshot %s%s\n", snapshot->commit.c_str(), snapshot->clean ? " (HEAD)" : " (HEAD + working tree changes)");
  }
  node::SwarmOptions& swarm = run.swarm;
  swarm.enabled = !options.local;
  if (swarm.enabled && !swarm_key) {
    swarm.enabled = false;
    std::printf("Peers: none used: %s\n", node::NoSwarmKeyAdvice(key_path).c_str());
    if (used_slots == 0) return Fail("--slots 0 runs on peers only, and peers need a swarm key: " + node::NoSwarmKeyAdvice(key_path));
  }
  if (swarm.enabled && !snapshot.ok()) {
    swarm.enabled = false;
    std::printf("Peers: none used: peers are sent a snapshot of a git repository (%s)\n", snapshot.status().message().c_str());
    if (used_slots == 0) return Fail("--slots 0 runs on peers only, and peers need a git repository: " + snapshot.status().message());
  }
  if (swarm.enabled) {
    swarm.key = *swarm_key;
    swarm.seeds = *seeds;
    if (auto from_config = discovery::LoadConfigSeeds(discovery::DefaultConfigPath()); from_config.ok()) {
      swarm.seeds.insert(swarm.seeds.end(), from_config->begin(), from_config->end());
    }
    swarm.mdns = !options.no_mdns && !EnvFlag("SPECSWARM_NO_MDNS");
    swarm.self_id = node::ReadNodeId(node::StateDir());
    swarm.wait_for_peer = options.wait;
    swarm.repo_path = snapshot->workdir;
    swarm.hello.node_id = swarm.self_id.empty() ? "run-" + node::RandomHexId() : swarm.self_id;
    swarm.hello.host = Hostname();
    swarm.hello.version = std::string(kVersion);
    node::OfferMsg& offer = swarm.offer;
    offer.run_id = run_id;
    offer.commit = snapshot->commit;
    offer.repo_key = node::RepoKey(snapshot->workdir);
    offer.project_subdir = fs::relative(project, snapshot->workdir, ec).string();
    if (offer.project_subdir == ".") offer.project_subdir.clear();
    offer.coordinator_host = Hostname();
    offer.ruby_version = node::ProjectRubyVersion(project);
    offer.rspec_args = options.rspec_args;
    offer.targets = targets;
    offer.preload = worker.preload;
    offer.fork_isolation = worker.isolation == exec::Isolation::kFork;
    offer.bundler = worker.bundler;
    offer.first_is_1 = options.first_is_1;
    offer.shared_tmp = shared_tmp;
    offer.unit_timeout = options.timeout;
    offer.boot_timeout = options.boot_timeout;
    std::string sources = swarm.mdns ? "mDNS" : "";
    if (!swarm.seeds.empty()) sources += std::string(sources.empty() ? "" : ", ") + std::to_string(swarm.seeds.size()) + " named";
    std::printf("Peers: looking for them (%s); each joins when ready\n", sources.empty() ? "the last-seen cache" : sources.c_str());
  }
  if (!tmp_note.empty()) std::printf("Note: %s\n", tmp_note.c_str());
  if (!budget_note.empty()) std::printf("Note: %s\n", budget_note.c_str());
  std::fflush(stdout);

  ConsoleReport console(stdout,
                        options.format[0] == 'd' ? ConsoleFormat::kDocumentation : ConsoleFormat::kProgress,
                        UseColor(options.color), options.first_is_1);
  std::signal(SIGINT, [](int) { node::SwarmRun::Interrupt(); });
  std::signal(SIGTERM, [](int) { node::SwarmRun::Interrupt(); });
  std::signal(SIGPIPE, SIG_IGN);
  // Daemons a spec starts are re-parented here, not to init, so the run can end them.
  if (Status s = exec::BecomeSubreaper(); !s.ok()) std::fprintf(stderr, "specswarm: %s\n", s.message().c_str());
  node::SwarmRun swarm_run(std::move(run), std::move(units), &console);
  if (reservation) swarm_run.AdoptReservation(std::move(*reservation));
  node::RunReport report = swarm_run.Run();
  auto leftovers = exec::EndDescendants(std::chrono::seconds(2));
  if (!leftovers.empty()) {
    std::fprintf(stderr, "specswarm: ended %zu process%s the specs had left running:\n", leftovers.size(),
                 leftovers.size() == 1 ? "" : "es");
    for (const auto& p : leftovers) std::fprintf(stderr, "  %d %s\n", static_cast<int>(p.pid), p.command.c_str());
  }
  fs::remove_all(scratch, ec);

  const bool peers_ran = std::any_of(swarm_run.peers().begin(), swarm_run.peers().end(),
                                     [](const node::PeerSummary& p) { return p.files > 0; });
  if (used_slots == 0 && !peers_ran && report.units().empty() && !report.interrupted) {
    PrintPeers(swarm_run.peers());
    char waited[32];
    std::snprintf(waited, sizeof waited, "%g", options.wait);
    return Fail(std::string("--slots 0 runs on peers only, and no peer took the run within ") + waited +
                " s: start `specswarm join` on other machines, name one with --peer HOST:PORT, or give local slots");
  }
  if (report.boot_error_kind == "bundler") {
    return Fail("the project's bundle could not be loaded (" + FirstLine(report.boot_error) +
                "): run `bundle install`, or run without Bundler as `rspec` does without `bundle exec`: "
                "specswarm run --no-bundler (or SPECSWARM_NO_BUNDLER=1)");
  }
  if (!report.boot_error.empty()) {
    if (report.boot_error.find("rspec/core") != std::string::npos &&
        report.boot_error.find("LoadError") != std::string::npos) {
      return Fail("RSpec is not installed for this Ruby: add rspec to the Gemfile and run bundle "
                  "install, or apt-get install ruby-rspec");
    }
    std::fprintf(stdout, "\nAn error occurred while booting the project, so no spec ran:\n%s\n",
                 report.boot_error.c_str());
    return 1;
  }
  if (peers_ran) report.StampHost(Hostname());
  console.PrintSummary(report);
  PrintPeers(swarm_run.peers());
  const int unanswered = report.not_run + static_cast<int>(std::count_if(report.units().begin(), report.units().end(),
      [](const exec::UnitResult& u) { return u.outcome == exec::UnitOutcome::kNotRun; }));
  std::printf("Files without a result: %d\n", unanswered);
  if (!options.junit.empty()) {
    if (Status s = WriteReportFile(options.junit, JunitXml(report, Hostname())); !s.ok()) return Fail(s.message());
  }
  if (!options.json.empty()) {
    if (Status s = WriteReportFile(options.json, RspecJson(report, Hostname())); !s.ok()) return Fail(s.message());
  }
  RecordHistory(std::move(*history), report, *files, HasFilterArgs(options.rspec_args));
  if (report.interrupted) return 130;
  return report.Passed() ? 0 : 1;
}

}  // namespace

void AddRunCommand(CLI::App& app, CommandAction* chosen, std::vector<std::string> rspec_args) {
  auto options = std::make_shared<RunOptions>();
  options->rspec_args = std::move(rspec_args);
  CLI::App* run = app.add_subcommand("run", "Run the project's specs on every local slot (arguments after -- go to rspec)");
  run->add_option("paths", options->paths, "Spec files or folders (default: spec/), rspec filters like spec/a_spec.rb:12 allowed");
  run->add_option("-n,--slots", options->slots, "Local slots (default: number of cores; 0: peers only)")->check(CLI::Range(0, 1024));
  run->add_flag("--local", options->local, "Use this machine's slots only, no peers");
  run->add_option("--peer", options->peers, "Also offer the run to HOST:PORT (repeatable; for networks without multicast)");
  run->add_option("--wait", options->wait, "With --slots 0: seconds to wait for a peer (default 10)")->check(CLI::Range(0.0, 3600.0));
  run->add_flag("--no-mdns", options->no_mdns, "Do not browse the LAN for peers (named and cached peers only; also SPECSWARM_NO_MDNS=1)");
  run->add_option("-f,--format", options->format, "Console output: progress or documentation")
      ->check(CLI::IsMember({"progress", "p", "documentation", "d"}));
  run->add_option("--junit", options->junit, "Write JUnit XML to this file");
  run->add_option("--json", options->json, "Write RSpec's JSON report to this file");
  run->add_option("--timeout", options->timeout, "Seconds one spec file may run before it is killed (0: no limit)")
      ->check(CLI::Range(0.0, 1e7));
  run->add_option("--boot-timeout", options->boot_timeout, "Seconds a slot may take to boot the project and load the spec files (default 600; 0 = no limit)")
      ->check(CLI::Range(0.0, 1e7));
  run->add_flag("--shared-tmp", options->shared_tmp, "Every slot uses the project's tmp/ (default: each slot gets a private tmp/; also SPECSWARM_SHARED_TMP=1)");
  run->add_flag("--no-bundler", options->no_bundler, "Do not load bundler/setup, as `rspec` without `bundle exec` (also SPECSWARM_NO_BUNDLER=1)");
  run->add_option("--isolation", options->isolation, "reset (default): one forked child per slot runs file after file in one RSpec run, as rspec does; fork: a fresh child per file")
      ->check(CLI::IsMember({"fork", "reset"}));
  run->add_flag("--first-is-1", options->first_is_1, "TEST_ENV_NUMBER is 1 for the first slot, as parallel_tests --first-is-1");
  run->add_option("--preload", options->preload, "Files to require once per slot before forking (default: spec/rails_helper.rb if present)");
  run->add_flag("--no-preload", options->no_preload, "Require nothing beyond .rspec's --require at boot");
  run->add_option("--color", options->color, "auto, always or never")->check(CLI::IsMember({"auto", "always", "never"}));
  run->callback([chosen, options] { *chosen = [options] { return RunSpecs(*options); }; });
}

}  // namespace specswarm::cli
