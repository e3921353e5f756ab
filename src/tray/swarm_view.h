// SwarmView: what the tray shows, computed from the documents the CLI already prints: the
// `specswarm status --json` document (docs/STATUS.md) when this machine runs `join`, and the
// `specswarm discover --json` document when it does not (then only the peers' mDNS records tell
// their idle cores). Pure functions of their input: no Qt, no I/O, no clock, so the tests and the
// offscreen render drive them with documents written by hand.
//
// The tooltip, menu rows and icon state are derived here, once, so the icon, the SNI export and
// the tests read the same words. Thread-safe as values are: a SwarmView is a plain struct.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace specswarm::tray {

// Which of the icon's three faces to draw.
enum class IconState {
  kSharing,     // green: this machine's `join` answers, its cores are offered
  kNotSharing,  // grey: no `join` here, but peers of this swarm are visible
  kNoSwarm,     // grey with a red bar: no node of this swarm answers or is visible (or no key)
};

struct MachineRow {
  std::string host;
  bool self = false;
  bool reachable = true;  // false: listed by mDNS or as a seed, but did not answer
  int slots = 0;
  int busy = -1;          // -1: unknown (did not answer, or known only from its mDNS record)
  int idle = 0;
  std::vector<std::string> serving;  // coordinators of the runs it serves
  std::string note;                  // why it takes no work, when it does not
  bool operator==(const MachineRow&) const = default;
};

struct RunRow {
  std::string run_id;
  std::string coordinator;
  std::string snapshot;  // short commit
  std::string phase;
  int machines = 0;    // nodes serving it
  int slots = 0;       // slots it holds across them
  int files_done = 0;  // files finished on those nodes
  bool operator==(const RunRow&) const = default;
};

struct SwarmView {
  IconState state = IconState::kNoSwarm;
  bool sharing = false;  // this machine's `join` answered
  int idle = 0;          // idle cores across this swarm's reachable machines
  int cores = 0;         // cores those machines offer
  int machines = 0;      // machines counted in idle/cores
  int self_busy = 0, self_slots = 0;  // this machine, when sharing
  std::vector<MachineRow> rows;       // this machine first, then peers; other swarms left out
  std::vector<RunRow> runs;
  std::string problem;  // one line when something keeps the tray from seeing the swarm

  std::string Tooltip() const;
  // The menu's text rows, in order, as the tray shows them (tests compare these).
  std::vector<std::string> MachineLines() const;
  std::vector<std::string> RunLines() const;
  // What the icon shows: the idle count ("12", "999+"), or "" for kNoSwarm.
  std::string Badge() const;
  bool operator==(const SwarmView&) const = default;
};

// From a `status --json` document of a run whose local node answered (exit 0).
Result<SwarmView> ViewFromStatus(const nlohmann::json& doc);
// From a `discover --json` document, when this machine runs no `join`: its peers of this swarm
// (not `other_swarm`), counted by the idle cores their mDNS records advertise. `why_not_sharing`
// is the line `status` gave (kept as the problem when no peer is visible either).
Result<SwarmView> ViewFromDiscover(const nlohmann::json& doc, const std::string& why_not_sharing);
// When neither document could be had: no key, no binary, a crash. `problem` is shown as is.
SwarmView ViewOfProblem(const std::string& problem);

// Reads a document written by either command (told apart by its keys), for `tray --status FILE`.
Result<SwarmView> ViewFromDocument(const std::string& text);

}  // namespace specswarm::tray
