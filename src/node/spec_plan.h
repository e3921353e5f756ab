// The plan of a run: which units of work (whole spec files, or groups of one file's examples)
// go into the queue, and in which order. Longest first by the timing history, so the tail of
// the run is made of short units; unknown files are estimated by their size. A file that alone
// would take a large part of one slot's fair share is split into its example groups, keeping
// any group with before(:all)/after(:all) whole, so one long file does not bound the run.
// Splitting uses RSpec ids from the history, so only a file unchanged since then is split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/timing_history.h"

namespace specswarm::node {

struct SpecFile {
  std::string path;                  // project-relative: "spec/models/user_spec.rb"
  std::uintmax_t size = 0;
  std::string content_hash;          // ContentHash() now
  std::vector<std::string> targets;  // from the command line ("spec/a_spec.rb:12"); empty: all
};

struct SpecUnit {
  int id = 0;
  std::string file;
  std::vector<std::string> ids;  // RSpec ids or file:line targets to run; empty: the whole file
  double estimate = 0;           // seconds (a size-based guess for files never timed)
  // The rest of a split file: every example under none of these ids (the other pieces'), so
  // examples the history never saw still run exactly once.
  std::vector<std::string> except_ids;
};

struct PlanOptions {
  int slots = 1;
  // A file estimated above split_above x (total / slots) is split into pieces of at most
  // piece_size x (total / slots), as far as its groups allow.
  double split_above = 0.5;
  double piece_size = 0.25;
  // Every piece pays the file's load and a fork again, so pieces shorter than this are not
  // worth making.
  double min_piece_seconds = 0.5;
};

std::vector<SpecUnit> PlanUnits(const std::vector<SpecFile>& files, const TimingHistory& history,
                                const PlanOptions& options);

}  // namespace specswarm::node
