// Swarm in network namespaces (issue 9): real `specswarm join` nodes in a SwarmLab (one network
// namespace, avahi-daemon and state directory per host; the coordinator's project hidden from the
// peers), real `specswarm run`, real rspec. Built and run by bench/swarm/netns.sh.
//
//   netns_bench heavy --reps 3 --out DIR   heavy-tailed sleep suite: 4 hosts x 4 slots, host 4 3x slower
//                                          (SLOWDOWN=3), against `run --local --slots 4` on host 1
//   netns_bench sync  --reps 3 --out DIR   bytes sent for a first and an incremental sync of a copy of
//                                          rubocop, against `git pack-objects` of the same objects
//   netns_bench cold-peers --source REPO --peers N   N cold peers at once on REPO's tree (see ColdPeers)
//   netns_bench suite                      prints the heavy-tailed durations and exits
//
// Prints one line per measurement (RUN, HOST, PEER, SYNC, SUITE: space-separated key=value) for
// netns.sh to tabulate; the runs' console output, join logs and example timelines go to DIR.
// Root only (network namespaces).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "swarm_lab.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sh(const std::string& command, int* code = nullptr) {
  std::string out;
  int rc = RunCommand({"sh", "-c", command}, &out);
  if (code) *code = rc;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct Options {
  std::string mode;
  int reps = 3;
  std::string out = "/tmp/specswarm-netns-bench";
  // The heavy-tailed suite.
  int files = 120;
  double median = 0.35;  // seconds
  double sigma = 1.0;    // of the log
  uint64_t seed = 9;
  double slowdown = 3;
  int slots = 4;
  // The sync part.
  std::string source_repo = "/var/tmp/realworld/rubocop";
  std::string changed_file = "spec/rubocop/cop/style/nil_comparison_spec.rb";
  int peers = 3;  // cold-peers
};

// ---- the heavy-tailed suite -----------------------------------------------------------------

// Standard normal quantile by bisection on erfc (plenty fast for 120 values, no approximation).
double NormalQuantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Lognormal durations at the N stratified quantiles (i + 0.5) / N, rounded to milliseconds (so the
// distribution is exactly the same for any seed), in an order shuffled with `seed`: file i sleeps
// durations[i]. Deterministic on every platform (own PRNG, own shuffle).
std::vector<double> HeavyTail(const Options& o) {
  std::vector<double> d;
  for (int i = 0; i < o.files; ++i) {
    double z = NormalQuantile((i + 0.5) / o.files);
    d.push_back(std::round(o.median * std::exp(o.sigma * z) * 1000) / 1000);
  }
  uint64_t state = o.seed;
  for (size_t i = d.size() - 1; i > 0; --i) std::swap(d[i], d[SplitMix(state) % (i + 1)]);
  return d;
}

// Every file has the same size (fixed-width names and numbers), so a run with no timing history
// takes them in path order, blind to their durations.
void WriteHeavySuite(const std::string& project, const std::vector<double>& durations, const std::string& events) {
  fs::create_directories(project + "/spec");
  std::ofstream(project + "/.gitignore") << ".specswarm/\n";  // the timing history, as README says
  for (size_t i = 0; i < durations.size(); ++i) {
    char name[64], seconds[16], index[24];
    std::snprintf(index, sizeof index, "%03zu", i);
    std::snprintf(name, sizeof name, "/spec/h%s_spec.rb", index);
    std::snprintf(seconds, sizeof seconds, "%6.3f", durations[i]);
    std::ofstream out(project + name);
    out << "RSpec.describe \"heavy " << index << "\" do\n"
        << "  it \"sleeps " << seconds << " s times SLOWDOWN\" do\n"
        << "    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)\n"
        << "    sleep " << seconds << " * Float(ENV.fetch(\"SLOWDOWN\", \"1\"))\n"
        << "    t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)\n"
        << "    host = File.basename(File.dirname(ENV.fetch(\"HOME\", \"/?/home\")))\n"
        << "    File.open(\"" << events << "\", \"a\") { |f| f.write(\"#{host} s#{ENV[\"TEST_ENV_NUMBER\"]} " << index
        << " #{t0} #{t1}\\n\") }\n"
        << "  end\nend\n";
  }
  std::set<uintmax_t> sizes;
  for (const auto& entry : fs::directory_iterator(project + "/spec")) sizes.insert(entry.file_size());
  if (sizes.size() != 1) std::fprintf(stderr, "warning: the spec files differ in size: the cold order is not path order\n");
}

// ---- one run --------------------------------------------------------------------------------

struct PeerLine {
  std::string host;
  int slots = 0, files = 0;
  double pulling = -1, kb = 0;
  double ready = -1;        // "HOST: N slots ready after Y s": from the peer's Accept to its Ready
  double checked_out = -1;  // the join's "checked out in X s" (from its accepting the offer)
};

struct Event {
  std::string host;
  int file = 0;
  double t0 = 0, t1 = 0;  // relative to the run's start
};

struct RunResult {
  std::string load;  // /proc/loadavg's 1-minute figure when the run started
  int exit = -1;
  double wall = 0, finished = -1, boot = -1, serial = -1;
  int examples = -1, failures = -1;
  std::string snapshot;
  std::vector<PeerLine> peers;
  std::vector<Event> events;
  std::string output;
};

double ParseDuration(const std::string& text) {  // "1 minute 2.5 seconds", "0.85092 seconds"
  std::smatch m;
  static const std::regex with_minutes(R"((\d+) minutes? ([\d.]+) seconds?)");
  if (std::regex_search(text, m, with_minutes)) return std::stod(m[1]) * 60 + std::stod(m[2]);
  return std::stod(text);
}

RunResult Run(SwarmLab& lab, const std::string& args, const std::string& events_path, const std::string& log_copy) {
  std::error_code ec;
  if (!events_path.empty()) fs::remove(events_path, ec);
  RunResult r;
  r.load = Slurp("/proc/loadavg").substr(0, Slurp("/proc/loadavg").find(' '));
  const double start = MonotonicSeconds();
  lab.StartRun(args);
  r.exit = lab.WaitRun(600s);
  const double end = MonotonicSeconds();
  r.wall = end - start;
  r.output = lab.RunOutput();
  std::ofstream(log_copy) << "$ specswarm run " << args << "\n" << r.output;
  std::smatch m;
  static const std::regex finished(R"(Finished in (.+?) \(slowest slot took (.+?) to boot)");
  if (std::regex_search(r.output, m, finished)) {
    r.finished = ParseDuration(m[1]);
    r.boot = ParseDuration(m[2]);
  }
  static const std::regex serial(R"(([\d.]+) s of specs in)");
  if (std::regex_search(r.output, m, serial)) r.serial = std::stod(m[1]);
  static const std::regex snapshot(R"(Snapshot ([0-9a-f]{40}))");
  if (std::regex_search(r.output, m, snapshot)) r.snapshot = m[1];
  static const std::regex peer(
      R"(  (\S+) \(\S+\): (\d+) slots?, (\d+) files?, pulling ([\d.]+) s after the start, ([\d.]+) KB of code sent)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), peer); it != std::sregex_iterator(); ++it) {
    r.peers.push_back({(*it)[1], std::stoi((*it)[2]), std::stoi((*it)[3]), std::stod((*it)[4]), std::stod((*it)[5])});
  }
  static const std::regex ready(R"(specswarm: (\S+): \d+ slots? ready after ([\d.]+) s)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), ready); it != std::sregex_iterator(); ++it) {
    for (PeerLine& p : r.peers) {
      if (p.host == (*it)[1] && p.ready < 0) p.ready = std::stod((*it)[2]);
    }
  }
  ReportCounts counts = CountsOf(lab.RunReport());
  r.examples = counts.examples;
  r.failures = counts.failures;
  if (events_path.empty()) return r;
  std::ifstream ev(events_path);
  for (std::string line; std::getline(ev, line);) {
    std::istringstream in(line);
    Event e;
    std::string slot;
    double t0, t1;
    if (in >> e.host >> slot >> e.file >> t0 >> t1) {
      e.t0 = t0 - start;
      e.t1 = t1 - start;
      r.events.push_back(e);
    }
  }
  if (!r.events.empty()) fs::copy_file(events_path, log_copy + ".events", fs::copy_options::overwrite_existing);
  return r;
}

// ---- heavy ----------------------------------------------------------------------------------

void PrintSuite(const Options& o, const std::vector<double>& d) {
  double sum = std::accumulate(d.begin(), d.end(), 0.0);
  std::vector<double> sorted = d;
  std::sort(sorted.rbegin(), sorted.rend());
  const double fast = 3.0 * o.slots, capacity = fast + o.slots / o.slowdown;
  std::printf("SUITE files=%d sum=%.3f longest=%.3f median=%.3f top5=%.3f,%.3f,%.3f,%.3f,%.3f under_0.5=%d over_2=%d "
              "capacity_swarm=%.3f capacity_local=%d ideal_swarm=%.3f ideal_local=%.3f\n",
              o.files, sum, sorted[0], sorted[sorted.size() / 2], sorted[0], sorted[1], sorted[2], sorted[3], sorted[4],
              static_cast<int>(std::count_if(d.begin(), d.end(), [](double x) { return x < 0.5; })),
              static_cast<int>(std::count_if(d.begin(), d.end(), [](double x) { return x > 2; })), capacity, o.slots,
              std::max(sum / capacity, sorted[0]), std::max(sum / o.slots, sorted[0]));
  // Where the longest files stand in path order (the order of a run with no history).
  std::printf("SUITE_ORDER");
  for (int k = 0; k < 5; ++k) {
    size_t i = static_cast<size_t>(std::find(d.begin(), d.end(), sorted[k]) - d.begin());
    std::printf(" h%03zu=%.3f", i, d[i]);
  }
  std::printf("\n");
}

// The last number `pattern` (one group) matches in a join log after offset `from`, or -1.
double LastInLog(const std::string& log, size_t from, const std::regex& pattern) {
  double value = -1;
  std::string tail = log.substr(std::min(from, log.size()));
  for (auto it = std::sregex_iterator(tail.begin(), tail.end(), pattern); it != std::sregex_iterator(); ++it) {
    value = std::stod((*it)[1]);
  }
  return value;
}
const std::regex kCheckedOut(R"(checked out in ([\d.]+) s)");
const std::regex kReceived(R"(code received \((\d+) bytes\))");

void Report(int rep, const std::string& kind, const RunResult& r, const std::vector<double>& d, double capacity) {
  const double sum = std::accumulate(d.begin(), d.end(), 0.0);
  const double longest = *std::max_element(d.begin(), d.end());
  const double lb = std::max(r.boot, 0.0) + std::max(sum / capacity, longest);
  double first = 1e9, last = 0;
  std::map<std::string, std::vector<const Event*>> by_host;
  for (const Event& e : r.events) {
    first = std::min(first, e.t0);
    last = std::max(last, e.t1);
    by_host[e.host].push_back(&e);
  }
  if (r.events.empty()) first = -1;
  // The slow node's share: files run there and what they would have cost on a fast node.
  std::printf("RUN rep=%d kind=%s exit=%d examples=%d failures=%d wall=%.3f finished=%.3f boot=%.3f serial=%.3f "
              "lb=%.3f ratio=%.3f first_example=%.3f last_example_end=%.3f after_last=%.3f events=%zu snapshot=%s load=%s\n",
              rep, kind.c_str(), r.exit, r.examples, r.failures, r.wall, r.finished, r.boot, r.serial, lb, r.wall / lb,
              first, last, r.wall - last, r.events.size(), r.snapshot.substr(0, 12).c_str(), r.load.c_str());
  for (const auto& [host, events] : by_host) {
    double h_first = 1e9, h_last = 0, busy = 0, nominal = 0, longest_here = 0;
    for (const Event* e : events) {
      h_first = std::min(h_first, e->t0);
      h_last = std::max(h_last, e->t1);
      busy += e->t1 - e->t0;
      nominal += d[static_cast<size_t>(e->file)];
      longest_here = std::max(longest_here, e->t1 - e->t0);
    }
    std::printf("HOST rep=%d kind=%s host=%s files=%zu nominal=%.3f busy=%.3f first_start=%.3f last_end=%.3f "
                "longest_here=%.3f\n",
                rep, kind.c_str(), host.c_str(), events.size(), nominal, busy, h_first, h_last, longest_here);
  }
  for (const PeerLine& p : r.peers) {
    std::printf("PEER rep=%d kind=%s host=%s slots=%d files=%d pulling=%.1f ready_after_accept=%.1f checked_out=%.1f "
                "kb=%.1f\n",
                rep, kind.c_str(), p.host.c_str(), p.slots, p.files, p.pulling, p.ready, p.checked_out, p.kb);
  }
  std::fflush(stdout);
}

// Waits until host 1 (the coordinator's, which runs no join) resolves the adverts of hosts
// 2..hosts over mDNS, so the run's browse finds them at once, as on a LAN where the nodes have
// been up for a while (a join that has just started is still probing its name).
bool WaitForAdverts(SwarmLab& lab, int hosts) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out;
    RunCommand(lab.net().Wrap(1, {"avahi-browse", "-rpt", "_specswarm._tcp"}), &out);
    int seen = 0;
    for (int h = 2; h <= hosts; ++h) {
      seen += out.find(";" + lab.Address(h) + ";" + std::to_string(SwarmLab::kPort) + ";") != std::string::npos ? 1 : 0;
    }
    if (seen == hosts - 1) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

int Heavy(const Options& o) {
  const std::vector<double> d = HeavyTail(o);
  PrintSuite(o, d);
  const double capacity_swarm = 3.0 * o.slots + o.slots / o.slowdown;
  const std::string slots = std::to_string(o.slots);
  int status = 0;
  for (int rep = 1; rep <= o.reps; ++rep) {
    std::string events;
    auto lab = SwarmLab::Create("heavy", 4, [&](const std::string& project) {
      events = fs::path(project).parent_path().parent_path().string() + "/events.log";
      WriteHeavySuite(project, d, events);
    });
    if (!lab) {
      std::fprintf(stderr, "could not build the lab\n");
      return 2;
    }
    char slowdown[32];
    std::snprintf(slowdown, sizeof slowdown, "SLOWDOWN=%g", o.slowdown);
    for (int h = 2; h <= 4; ++h) {
      std::vector<std::string> env;
      if (h == 4) env.push_back(slowdown);
      if (!lab->StartJoin(h, {"--slots", slots}, env)) {
        std::fprintf(stderr, "join on host %d did not start:\n%s\n", h, lab->JoinLog(h).c_str());
        return 2;
      }
    }
    if (!WaitForAdverts(*lab, 4)) {
      std::fprintf(stderr, "rep %d: host 1 did not see every join's advert within 20 s\n", rep);
    }
    const std::string prefix = o.out + "/heavy-" + std::to_string(rep) + "-";
    const std::string timings = lab->project() + "/.specswarm/timings";
    auto one = [&](const std::string& kind, const std::string& args, double capacity) {
      std::map<int, size_t> log_from;
      for (int h = 2; h <= 4; ++h) log_from[h] = lab->JoinLog(h).size();
      RunResult r = Run(*lab, args, events, prefix + kind + ".log");
      for (PeerLine& p : r.peers) {
        const int h = p.host.size() > 4 ? std::atoi(p.host.c_str() + 4) : 0;  // "host3"
        if (log_from.count(h)) p.checked_out = LastInLog(lab->JoinLog(h), log_from[h], kCheckedOut);
      }
      Report(rep, kind, r, d, capacity);
      if (r.exit != 0 || r.examples != o.files || r.failures != 0) status = 1;
    };
    // Cold: no peer has the code, no timing history. Warm: the peers hold the snapshot (the
    // history is git-ignored, so the snapshot is the same), the history of the cold run orders
    // the queue longest first.
    one("swarm-cold", "--slots " + slots, capacity_swarm);
    one("swarm-warm", "--slots " + slots, capacity_swarm);
    // The same on host 1's slots alone: without history, then with the history of that run.
    fs::remove(timings);
    one("local-cold", "--local --slots " + slots, o.slots);
    one("local-warm", "--local --slots " + slots, o.slots);
    for (int h = 2; h <= 4; ++h) std::ofstream(prefix + "join" + std::to_string(h) + ".log") << lab->JoinLog(h);
  }
  return status;
}

// ---- sync -----------------------------------------------------------------------------------

// The source's tree as one shallow commit (its history is never sent: packs are shallow), plus
// one tiny spec that the runs run, and the timing history ignored.
void WriteCopy(const std::string& project, const std::string& source) {
  Sh("cd '" + project + "' && git init -q && git fetch -q --depth 1 'file://" + source +
     "' HEAD && git checkout -q FETCH_HEAD");
  std::ofstream(project + "/.gitignore", std::ios::app) << ".specswarm/\n";
  fs::create_directories(project + "/spec");
  std::ofstream(project + "/spec/swarm_probe_spec.rb")
      << "RSpec.describe \"probe\" do\n  it \"runs\" do\n    expect(1).to eq(1)\n  end\nend\n";
}

// Several cold peers at once on a large project: the coordinator builds each peer's pack in its
// one loop, one after the other; meanwhile it sends nothing (no heartbeat), and a peer that
// hears nothing for kHeartbeatExpiry (5 s) gives the run up. One run, `--slots 0` (peers only);
// prints what the run and each join said.
int ColdPeers(const Options& o) {
  const int hosts = o.peers + 1;
  auto lab = SwarmLab::Create("cold", hosts, [&](const std::string& project) { WriteCopy(project, o.source_repo); });
  if (!lab) return 2;
  for (int h = 2; h <= hosts; ++h) {
    if (!lab->StartJoin(h, {"--slots", "1"})) return 2;
  }
  if (!WaitForAdverts(*lab, hosts)) std::fprintf(stderr, "host 1 did not see every advert within 20 s\n");
  std::printf("COLD project=%s files=%s peers=%d\n", o.source_repo.c_str(),
              Sh("cd '" + lab->project() + "' && git ls-files | wc -l").c_str(), o.peers);
  RunResult r = Run(*lab, "--slots 0 --no-bundler spec/swarm_probe_spec.rb", "", o.out + "/cold-peers.log");
  std::printf("COLD exit=%d examples=%d wall=%.3f finished=%.3f\n", r.exit, r.examples, r.wall, r.finished);
  std::istringstream out(r.output);
  for (std::string line; std::getline(out, line);) {
    if (line.find("tcp://") != std::string::npos || line.find("specswarm: ") == 0) std::printf("COLD run: %s\n", line.c_str());
  }
  int gave_up = 0, ran = 0;
  for (int h = 2; h <= hosts; ++h) {
    const std::string join_log = lab->JoinLog(h);
    gave_up += join_log.find("lost the coordinator") != std::string::npos ? 1 : 0;
    std::istringstream log(join_log);
    for (std::string line; std::getline(log, line);) std::printf("COLD host%d: %s\n", h, line.c_str());
  }
  for (const PeerLine& p : r.peers) ran += p.files > 0 ? 1 : 0;
  std::printf("COLD_SUMMARY peers=%d exit=%d examples=%d wall=%.3f gave_up=%d ran=%d load=%s\n", o.peers, r.exit,
              r.examples, r.wall, gave_up, ran, r.load.c_str());
  std::fflush(stdout);
  return 0;  // an outcome to report, not a failure of the benchmark
}

int Sync(const Options& o) {
  int status = 0;
  const std::string args = "--slots 0 --no-bundler spec/swarm_probe_spec.rb";
  for (int rep = 1; rep <= o.reps; ++rep) {
    auto lab = SwarmLab::Create("sync", 2, [&](const std::string& project) { WriteCopy(project, o.source_repo); });
    if (!lab) {
      std::fprintf(stderr, "could not build the lab\n");
      return 2;
    }
    if (!lab->StartJoin(2, {"--slots", "1"})) {
      std::fprintf(stderr, "join on host 2 did not start:\n%s\n", lab->JoinLog(2).c_str());
      return 2;
    }
    if (!WaitForAdverts(*lab, 2)) std::fprintf(stderr, "rep %d: host 1 did not see the join's advert within 20 s\n", rep);
    const std::string project = lab->project();
    const std::string prefix = o.out + "/sync-" + std::to_string(rep) + "-";
    std::string files = Sh("cd '" + project + "' && git ls-files | wc -l");
    std::string tree_kb = Sh("cd '" + project + "' && git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1");
    std::printf("SYNC_PROJECT rep=%d files=%s tree_bytes=%s source=%s\n", rep, files.c_str(), tree_kb.c_str(),
                o.source_repo.c_str());

    auto one = [&](const std::string& kind) {
      const size_t log_from = lab->JoinLog(2).size();
      RunResult r = Run(*lab, args, "", prefix + kind + ".log");
      // The exact size of the pack the join says it received ("code received (N bytes)").
      const long long received = static_cast<long long>(LastInLog(lab->JoinLog(2), log_from, kReceived));
      PeerLine p;
      if (!r.peers.empty()) p = r.peers[0];
      p.checked_out = LastInLog(lab->JoinLog(2), log_from, kCheckedOut);
      std::printf("SYNC rep=%d kind=%s exit=%d examples=%d wall=%.3f finished=%.3f snapshot=%s pulling=%.1f "
                  "ready_after_accept=%.1f checked_out=%.1f kb=%.1f received_bytes=%lld load=%s\n",
                  rep, kind.c_str(), r.exit, r.examples, r.wall, r.finished, r.snapshot.c_str(), p.pulling, p.ready,
                  p.checked_out, p.kb, received, r.load.c_str());
      std::fflush(stdout);
      if (r.exit != 0 || r.examples != 1 || p.files != 1) status = 1;
      return r.snapshot;
    };
    const std::string first = one("first");
    // A one-line change in one spec file, uncommitted: the next snapshot carries it.
    std::string content = Slurp(project + "/" + o.changed_file);
    size_t line = content.find("it '");
    if (line == std::string::npos) line = content.find("it \"");
    if (line == std::string::npos) {
      std::fprintf(stderr, "no example line in %s\n", o.changed_file.c_str());
      return 2;
    }
    content.insert(line + 4, "still ");
    lab->WriteProjectFile(o.changed_file, content);
    const std::string second = one("incremental");
    const std::string third = one("unchanged");
    if (third != second) std::fprintf(stderr, "rep %d: the same tree gave another snapshot\n", rep);

    // git's own packs of the same objects, in the coordinator's repository.
    auto pack = [&](const std::string& list, const std::string& flags = "") {
      return Sh("cd '" + project + "' && " + list + " | git pack-objects --stdout -q " + flags + " | wc -c");
    };
    auto count = [&](const std::string& list) { return Sh("cd '" + project + "' && " + list + " | wc -l"); };
    const std::string all = "git rev-list --objects " + first;
    const std::string exact = "git rev-list --objects --no-walk " + first;
    const std::string delta = "git rev-list --objects " + second + " --not " + first;
    std::printf("GIT rep=%d kind=first objects=%s pack_bytes=%s exact_objects=%s exact_pack_bytes=%s\n", rep,
                count(all).c_str(), pack(all).c_str(), count(exact).c_str(), pack(exact).c_str());
    std::printf("GIT rep=%d kind=incremental objects=%s pack_bytes=%s thin_pack_bytes=%s\n", rep, count(delta).c_str(),
                pack(delta).c_str(),
                Sh("cd '" + project + "' && printf '%s\\n^%s\\n' " + second + " " + first +
                   " | git pack-objects --revs --thin --stdout -q | wc -c")
                    .c_str());
    std::fflush(stdout);
    std::ofstream(prefix + "join2.log") << lab->JoinLog(2);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s heavy|sync|cold-peers|suite [--reps N] [--out DIR] [--files N] [--seed S]\n", argv[0]);
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--reps") o.reps = std::stoi(v);
    else if (k == "--out") o.out = v;
    else if (k == "--files") o.files = std::stoi(v);
    else if (k == "--seed") o.seed = std::stoull(v);
    else if (k == "--median") o.median = std::stod(v);
    else if (k == "--sigma") o.sigma = std::stod(v);
    else if (k == "--source") o.source_repo = v;
    else if (k == "--changed-file") o.changed_file = v;
    else if (k == "--peers") o.peers = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  fs::create_directories(o.out);
  if (o.mode == "suite") {
    PrintSuite(o, HeavyTail(o));
    return 0;
  }
  if (o.mode == "heavy") return Heavy(o);
  if (o.mode == "sync") return Sync(o);
  if (o.mode == "cold-peers") return ColdPeers(o);
  std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
  return 2;
}
