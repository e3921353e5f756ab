// Setup hooks: the commands a project names in .specswarm.yml to make a fresh checkout
// runnable, and the cache that keeps them from running when nothing they depend on changed.
//
//   setup:
//     per_peer:                     # once per work directory, e.g. install gems
//       - name: bundle
//         run: bundle install --local
//         key: [Gemfile.lock]       # globs; rerun only when these files' contents change
//     per_slot:                     # once per slot, with TEST_ENV_NUMBER set ("" , "2", "3"...)
//       - name: db
//         run: bin/rails db:create db:schema:load
//         key: [db/schema.rb]
//
// A hook's cache key is a hash of its command, its slot and the blob ids of the tracked files
// its globs match (taken from the work directory's index: no file is read). A hook without
// `key` runs after every checkout. The key is recorded only after the hook succeeds, so a
// failed hook runs again next time. This module owns only the `setup` section; other top-level
// keys belong to other modules and are passed in as known.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/child_process.h"  // TestEnvNumber, as the hooks see it
#include "base/status.h"
#include "sync/work_dir.h"

namespace specswarm::sync {

struct Hook {
  std::string name;              // [A-Za-z0-9._-]+, unique within its list
  std::string run;               // passed to /bin/sh -c in the work directory
  std::vector<std::string> key;  // globs over tracked paths; empty: no cache
  bool has_key = false;          // `key:` present (an empty list caches forever)
  int line = 0;                  // 1-based line in the file, for messages
};

struct SetupConfig {
  std::vector<Hook> per_peer;
  std::vector<Hook> per_slot;
};

// Parses the text of .specswarm.yml. Unknown keys inside `setup`, wrong types, and top-level
// keys not in `other_top_level_keys` are errors naming the file and the line.
Result<SetupConfig> ParseSetupConfig(const std::string& text,
                                     const std::set<std::string>& other_top_level_keys = {},
                                     const std::string& file_name = ".specswarm.yml");

// Reads <work dir>/.specswarm.yml; a missing file is an empty config.
Result<SetupConfig> LoadSetupConfig(const std::string& work_dir,
                                    const std::set<std::string>& other_top_level_keys = {});

struct HookRun {
  std::string name;
  int slot = 0;      // 0 for per-peer hooks
  bool ran = false;  // false: skipped, key unchanged
};

// Runs the hooks of a config in a WorkDir, for slots numbered from 1. Stamps of successful runs
// live in <store dir>/work/<work dir name>.hooks/.
class SetupHooks {
 public:
  SetupHooks(const WorkDir& work_dir, SetupConfig config);

  // Runs every hook whose key changed, per-peer hooks first, then each per-slot hook for each
  // slot in order. Stops at the first failure, with an error carrying the command's exit status
  // and the tail of its output. `env` entries ("NAME=value") are added to every hook's
  // environment.
  Result<std::vector<HookRun>> Run(const std::vector<int>& slots, const std::vector<std::string>& env = {});

 private:
  Result<bool> RunOne(const Hook& hook, int slot, const std::vector<TrackedFile>& files,
                      const std::vector<std::string>& env);
  WorkDir work_dir_;
  SetupConfig config_;
  std::string stamp_dir_;
};

}  // namespace specswarm::sync
