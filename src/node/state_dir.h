// Where a node keeps what outlives a run: $XDG_STATE_HOME/specswarm (default
// ~/.local/state/specswarm), never the directory it was started from.
//
//   <state>/node-id        this machine's stable node id (written by the first `join`)
//   <state>/store/         object stores and work directories (sync/object_store.h)
//   <state>/runs/          scratch directories of runs being served
#pragma once

#include <string>

#include "base/status.h"

namespace specswarm::node {

std::string StateDir();
// The id in <state>/node-id, created (16 random hex digits) when missing.
Result<std::string> LoadOrCreateNodeId(const std::string& state_dir);
// The id if a node on this machine has one, else "".
std::string ReadNodeId(const std::string& state_dir);
// 16 random hex digits (run ids, node ids).
std::string RandomHexId();

}  // namespace specswarm::node
