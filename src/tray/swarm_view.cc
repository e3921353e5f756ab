#include "tray/swarm_view.h"

#include <map>

namespace specswarm::tray {
namespace {

using nlohmann::json;

int Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool Bool(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::string Plural(int n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); }

// Counts a machine into the swarm totals when it can take work from this swarm.
void Count(SwarmView& v, const MachineRow& m) {
  if (!m.reachable || !m.note.empty()) return;
  v.idle += m.idle;
  v.cores += m.slots;
  ++v.machines;
}

}  // namespace

Result<SwarmView> ViewFromStatus(const json& doc) {
  if (!doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array())
    return Status::Error("not a `specswarm status --json` document: no \"nodes\" list");
  if (doc["nodes"].empty()) return ViewOfProblem(Str(doc, "error").empty() ? "no node answered" : Str(doc, "error"));
  SwarmView v;
  std::map<std::string, RunRow> runs;  // by run id, in id order
  std::vector<std::string> run_order;
  for (const json& n : doc["nodes"]) {
    if (!n.is_object()) return Status::Error("a node of the status document is not an object");
    if (Bool(n, "other_swarm")) continue;
    MachineRow m;
    m.host = Str(n, "host");
    m.self = Bool(n, "self");
    m.reachable = Bool(n, "reachable");
    m.slots = Int(n, "slots");
    m.busy = n.contains("busy") && n["busy"].is_number_integer() ? n["busy"].get<int>() : -1;
    m.idle = Int(n, "idle");
    if (n.contains("excluded") && n["excluded"].is_string()) m.note = n["excluded"].get<std::string>();
    if (n.contains("runs") && n["runs"].is_array()) {
      for (const json& r : n["runs"]) {
        if (!r.is_object()) continue;
        const std::string coordinator = Str(r, "coordinator");
        m.serving.push_back(coordinator);
        // A run of this machine holding slots of its budget is the same run everywhere; key by
        // id, or by coordinator for a record without one.
        std::string id = Str(r, "run_id").empty() ? coordinator : Str(r, "run_id");
        auto [it, fresh] = runs.try_emplace(id);
        RunRow& row = it->second;
        if (fresh) {
          run_order.push_back(id);
          row.run_id = id;
          row.coordinator = coordinator;
          row.snapshot = Str(r, "snapshot").substr(0, 10);
          row.phase = Str(r, "phase");
        }
        if (row.phase == "local") row.phase = Str(r, "phase");  // a peer's view says more
        ++row.machines;
        row.slots += Int(r, "slots");
        row.files_done += Int(r, "files_done");
      }
    }
    if (m.self) {
      v.sharing = m.reachable;
      v.self_slots = m.slots;
      v.self_busy = m.busy < 0 ? 0 : m.busy;
    }
    Count(v, m);
    v.rows.push_back(std::move(m));
  }
  for (const std::string& id : run_order) v.runs.push_back(runs[id]);
  v.state = v.sharing ? IconState::kSharing : (v.machines ? IconState::kNotSharing : IconState::kNoSwarm);
  return v;
}

Result<SwarmView> ViewFromDiscover(const json& doc, const std::string& why_not_sharing) {
  if (!doc.is_object() || !doc.contains("peers") || !doc["peers"].is_array())
    return Status::Error("not a `specswarm discover --json` document: no \"peers\" list");
  SwarmView v;
  for (const json& p : doc["peers"]) {
    if (!p.is_object() || Bool(p, "other_swarm")) continue;
    // A seed or cached address without a record is a port that answers, nothing more: its
    // cores are unknown, so it is listed but not counted.
    MachineRow m;
    m.host = Str(p, "host");
    m.reachable = Bool(p, "reachable");
    m.slots = Int(p, "slots");
    m.idle = Int(p, "idle");
    if (!p.contains("slots")) m.note = "cores unknown: no mDNS record";
    Count(v, m);
    v.rows.push_back(std::move(m));
  }
  v.state = v.machines ? IconState::kNotSharing : IconState::kNoSwarm;
  if (!v.machines) v.problem = why_not_sharing;
  return v;
}

SwarmView ViewOfProblem(const std::string& problem) {
  SwarmView v;
  v.problem = problem;
  return v;
}

Result<SwarmView> ViewFromDocument(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::Error("not JSON: give the output of `specswarm status --json` or `specswarm discover --json`");
  if (doc.contains("peers")) return ViewFromDiscover(doc, "no node of this swarm is running on this machine");
  return ViewFromStatus(doc);
}

std::string SwarmView::Badge() const {
  if (state == IconState::kNoSwarm) return "";
  return idle > 999 ? "999+" : std::to_string(idle);
}

std::string SwarmView::Tooltip() const {
  std::string swarm = state == IconState::kNoSwarm
                          ? "no swarm reachable"
                          : std::to_string(idle) + " of " + Plural(cores, "core", "cores") + " idle on " +
                                Plural(machines, "machine", "machines");
  std::string self = sharing ? std::to_string(self_busy) + " of " + std::to_string(self_slots) + " busy" : "not sharing";
  std::string tip = "specswarm: " + swarm + " · this machine: " + self;
  if (!problem.empty()) tip += "\n" + problem;
  return tip;
}

std::vector<std::string> SwarmView::MachineLines() const {
  std::vector<std::string> lines;
  for (const MachineRow& m : rows) {
    std::string line = m.host + (m.self ? " (this machine)" : "") + ": ";
    if (!m.reachable) {
      line += "no answer";
    } else if (m.busy >= 0) {
      line += std::to_string(m.busy) + " busy, " + std::to_string(m.idle) + " idle";
    } else {
      line += std::to_string(m.idle) + " of " + std::to_string(m.slots) + " idle";
    }
    if (!m.serving.empty()) {
      line += " · serving ";
      for (size_t i = 0; i < m.serving.size(); ++i) line += (i ? ", " : "") + m.serving[i];
    }
    if (!m.note.empty() && m.reachable) line += " · not used: " + m.note;
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<std::string> SwarmView::RunLines() const {
  std::vector<std::string> lines;
  for (const RunRow& r : runs) {
    lines.push_back("run from " + r.coordinator + (r.snapshot.empty() ? "" : " at " + r.snapshot) + ": " + r.phase + ", " +
                    Plural(r.files_done, "file", "files") + " done, " + Plural(r.slots, "slot", "slots") + " on " +
                    Plural(r.machines, "machine", "machines"));
  }
  return lines;
}

}  // namespace specswarm::tray
