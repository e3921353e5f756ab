// TimingHistory: how long each spec file, and each example in it, took the last time it ran,
// and which example groups share before(:all)/after(:all) state. Kept as plain text in
// .specswarm/timings inside the project (easy to ignore or to commit), written atomically so a
// crash or a full disk never leaves it half-written. The planner reads it to order and split
// the queue; every run records into it.
//
// File format, one record per line ('#' lines are comments):
//   F <seconds> <content-hash> <file>        a spec file, run whole (or the sum of its parts)
//   E <seconds> <example-id>                 one example, RSpec's id: ./spec/a_spec.rb[1:2:1]
//   C <group-id>                             a group with before/after(:all) hooks
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/spec_result.h"

namespace specswarm::node {

struct FileTiming {
  double seconds = 0;
  std::string content_hash;  // ContentHash() of the file when it was timed
};

class TimingHistory {
 public:
  // A missing file is an empty history; a malformed one is an error naming the line.
  static Result<TimingHistory> Load(const std::string& path);
  // parallel_tests' runtime log (tmp/parallel_runtime_rspec.log: "spec/a_spec.rb:1.23").
  static Result<TimingHistory> LoadParallelRuntimeLog(const std::string& path);
  // The same two parsers on text already read; `path` only names the file in messages.
  static Result<TimingHistory> Parse(const std::string& text, const std::string& path);
  static Result<TimingHistory> ParseParallelRuntimeLog(const std::string& text, const std::string& path);
  // Writes to a temporary file beside `path` and renames it over, creating the folder.
  Status Save(const std::string& path) const;

  // Replaces what is known of `file` with what the given units (all of it that ran) reported.
  void Record(const std::string& file, const std::string& content_hash,
              const std::vector<const exec::UnitResult*>& units);

  const std::map<std::string, FileTiming>& files() const { return files_; }
  const std::map<std::string, double>& examples() const { return examples_; }
  const std::set<std::string>& context_groups() const { return context_groups_; }
  std::optional<FileTiming> File(const std::string& file) const;
  // The examples of `file` (ids under "./<file>["), in id order.
  std::vector<std::pair<std::string, double>> ExamplesOf(const std::string& file) const;
  bool empty() const { return files_.empty(); }

  void SetFile(const std::string& file, FileTiming timing) { files_[file] = std::move(timing); }
  void SetExample(const std::string& id, double seconds) { examples_[id] = seconds; }
  void AddContextGroup(const std::string& id) { context_groups_.insert(id); }

 private:
  void Forget(const std::string& file);

  std::map<std::string, FileTiming> files_;
  std::map<std::string, double> examples_;
  std::set<std::string> context_groups_;
};

// A stable 64-bit FNV-1a hash of a file's bytes, as 16 hex digits ("" if unreadable).
std::string ContentHash(const std::string& path);
// "./spec/a_spec.rb[1:2]" -> "spec/a_spec.rb"; "spec/a_spec.rb" stays.
std::string FileOfId(const std::string& id);
// The prefix every id of `file` starts with: "./spec/a_spec.rb[".
std::string IdPrefix(const std::string& file);

}  // namespace specswarm::node
