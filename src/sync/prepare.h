// PrepareWorkDir: the one call a peer makes once a commit is complete in its ObjectStore —
// check it out into the slot set's work directory and run the project's setup hooks.
//
// All or nothing as far as the files go: when the checkout, the .specswarm.yml or a hook fails,
// the work directory is put back on the commit it held before (if any) and the error says why,
// with the failing hook's output. Side effects a hook had outside the directory (a database it
// created) are not undone; its cache key is not recorded, so it runs again next time.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "sync/object_store.h"
#include "sync/setup_hooks.h"
#include "sync/work_dir.h"

namespace specswarm::sync {

struct PrepareOptions {
  std::vector<int> slots = {1};             // per-slot hooks run for each (TEST_ENV_NUMBER)
  CheckoutOptions checkout;
  std::set<std::string> other_config_keys;  // top-level .specswarm.yml keys other modules own
  std::vector<std::string> hook_env;        // extra "NAME=value" for every hook
};

struct PrepareReport {
  std::string work_dir;
  CheckoutStats checkout;
  std::vector<HookRun> hooks;
};

Result<PrepareReport> PrepareWorkDir(const ObjectStore& store, const std::string& slot_set,
                                     const std::string& commit, const PrepareOptions& options = {});

}  // namespace specswarm::sync
