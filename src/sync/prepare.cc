#include "sync/prepare.h"

#include <filesystem>

namespace specswarm::sync {

Result<PrepareReport> PrepareWorkDir(const ObjectStore& store, const std::string& slot_set,
                                     const std::string& commit, const PrepareOptions& options) {
  Result<WorkDir> work = WorkDir::Open(store, slot_set);
  if (!work.ok()) return work.status();
  const std::optional<std::string> previous = work->current();

  PrepareReport report;
  report.work_dir = work->path();
  Result<CheckoutStats> stats = work->Checkout(commit, options.checkout);
  Status failure;
  if (stats.ok()) {
    report.checkout = *stats;
    Result<SetupConfig> config = LoadSetupConfig(work->path(), options.other_config_keys);
    if (config.ok()) {
      SetupHooks hooks(*work, std::move(*config));
      Result<std::vector<HookRun>> runs = hooks.Run(options.slots, options.hook_env);
      if (runs.ok()) {
        report.hooks = std::move(*runs);
        return report;
      }
      failure = runs.status();
    } else {
      failure = config.status();
    }
  } else {
    failure = stats.status();
  }

  // Put the files back as they were, so no worker ever runs in a half-prepared directory.
  if (previous && *previous != commit) {
    Result<CheckoutStats> back = work->Checkout(*previous, options.checkout);
    if (!back.ok()) {
      return Status::Error(failure.message() + "\n(and restoring " + *previous + " failed: " +
                           back.status().message() + ")");
    }
  } else if (!previous || *previous == commit) {
    // No earlier state to return to: leave the directory marked as holding no commit.
    std::error_code ec;
    std::filesystem::remove(work->path() + ".commit", ec);
  }
  return failure;
}

}  // namespace specswarm::sync
