#include "node/timing_history.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "base/atomic_file.h"

namespace specswarm::node {
namespace {

constexpr const char* kHeader =
    "# specswarm timing history v1: F seconds hash file | E seconds example-id | C group-id\n";

bool ParseSeconds(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end && *end == '\0' && *out >= 0 && *out < 1e9;
}

// Splits off the first space-separated field of `rest`.
std::string TakeField(std::string* rest) {
  auto space = rest->find(' ');
  std::string field = rest->substr(0, space);
  *rest = space == std::string::npos ? std::string() : rest->substr(space + 1);
  return field;
}

}  // namespace

std::string FileOfId(const std::string& id) {
  std::string file = id.substr(0, id.find('['));
  if (file.rfind("./", 0) == 0) file = file.substr(2);
  return file;
}

std::string IdPrefix(const std::string& file) { return "./" + file + "["; }

std::string ContentHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  uint64_t hash = 1469598103934665603ULL;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

namespace {

// The whole file, or nothing when it cannot be opened.
std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<TimingHistory> TimingHistory::Load(const std::string& path) {
  std::optional<std::string> text = ReadAll(path);
  if (!text) {
    if (!std::filesystem::exists(path)) return TimingHistory();
    return Status::Error("cannot read the timing history " + path + ": check its permissions");
  }
  return Parse(*text, path);
}

Result<TimingHistory> TimingHistory::Parse(const std::string& text, const std::string& path) {
  TimingHistory history;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status::Error("the timing history " + path + " is corrupt at line " +
                           std::to_string(number) + " (" + why + "): delete it and specswarm " +
                           "will record a new one");
    };
    std::string rest = line;
    std::string tag = TakeField(&rest);
    double seconds = 0;
    if (tag == "F") {
      std::string secs = TakeField(&rest), hash = TakeField(&rest);
      if (!ParseSeconds(secs, &seconds)) return bad("'" + secs + "' is not a number of seconds");
      if (rest.empty()) return bad("a file record without a path");
      history.files_[rest] = FileTiming{seconds, hash};
    } else if (tag == "E") {
      std::string secs = TakeField(&rest);
      if (!ParseSeconds(secs, &seconds)) return bad("'" + secs + "' is not a number of seconds");
      if (rest.find('[') == std::string::npos) return bad("'" + rest + "' is not an example id");
      history.examples_[rest] = seconds;
    } else if (tag == "C") {
      if (rest.find('[') == std::string::npos) return bad("'" + rest + "' is not a group id");
      history.context_groups_.insert(rest);
    } else {
      return bad("unknown record '" + tag + "'");
    }
  }
  return history;
}

Result<TimingHistory> TimingHistory::LoadParallelRuntimeLog(const std::string& path) {
  std::optional<std::string> text = ReadAll(path);
  if (!text) return TimingHistory();
  return ParseParallelRuntimeLog(*text, path);
}

Result<TimingHistory> TimingHistory::ParseParallelRuntimeLog(const std::string& text, const std::string& path) {
  TimingHistory history;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto colon = line.rfind(':');
    double seconds = 0;
    if (line.empty()) continue;
    if (colon == std::string::npos || !ParseSeconds(line.substr(colon + 1), &seconds)) {
      return Status::Error("parallel_tests' runtime log " + path + " is malformed at line " +
                           std::to_string(number) + ": delete it or run specswarm once to " +
                           "record its own history");
    }
    std::string file = line.substr(0, colon);
    if (file.rfind("./", 0) == 0) file = file.substr(2);
    history.files_[file] = FileTiming{seconds, ""};
  }
  return history;
}

Status TimingHistory::Save(const std::string& path) const {
  std::ostringstream out;
  out << kHeader;
  char buf[64];
  for (const auto& [file, t] : files_) {
    std::snprintf(buf, sizeof buf, "%.6f", t.seconds);
    out << "F " << buf << ' ' << (t.content_hash.empty() ? "-" : t.content_hash) << ' ' << file << '\n';
  }
  for (const auto& [id, seconds] : examples_) {
    std::snprintf(buf, sizeof buf, "%.6f", seconds);
    out << "E " << buf << ' ' << id << '\n';
  }
  for (const auto& id : context_groups_) out << "C " << id << '\n';
  Status written = WriteFileAtomically(path, out.str());
  if (!written.ok()) return Status::Error("the timing history was not saved: " + written.message());
  return Status::Ok();
}

std::optional<FileTiming> TimingHistory::File(const std::string& file) const {
  auto it = files_.find(file);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, double>> TimingHistory::ExamplesOf(const std::string& file) const {
  std::vector<std::pair<std::string, double>> out;
  const std::string prefix = IdPrefix(file);
  for (auto it = examples_.lower_bound(prefix); it != examples_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    out.emplace_back(*it);
  }
  return out;
}

void TimingHistory::Forget(const std::string& file) {
  const std::string prefix = IdPrefix(file);
  auto from = examples_.lower_bound(prefix), to = from;
  while (to != examples_.end() && to->first.rfind(prefix, 0) == 0) ++to;
  examples_.erase(from, to);
  auto group_from = context_groups_.lower_bound(prefix), group_to = group_from;
  while (group_to != context_groups_.end() && group_to->rfind(prefix, 0) == 0) ++group_to;
  context_groups_.erase(group_from, group_to);
}

void TimingHistory::Record(const std::string& file, const std::string& content_hash,
                           const std::vector<const exec::UnitResult*>& units) {
  if (units.empty()) return;
  Forget(file);
  double examples_time = 0, overhead = 0, wall = 0;
  for (const auto* unit : units) {
    double unit_examples = 0;
    for (const auto& e : unit->examples) {
      examples_[e.id] = e.run_time;
      unit_examples += e.run_time;
    }
    for (const auto& g : unit->groups) {
      if (g.has_context_hooks) context_groups_.insert(g.id);
    }
    examples_time += unit_examples;
    overhead = std::max(overhead, unit->wall_time - unit_examples);
    wall += unit->wall_time;
  }
  // A file run in parts paid its load time once per part; whole, it pays it once.
  files_[file] = FileTiming{units.size() == 1 ? wall : examples_time + overhead, content_hash};
}

}  // namespace specswarm::node
