// `specswarm snapshot [DIR]`: prints the id of the commit that holds the working tree of DIR
// exactly as it is (see sync/snapshot.h), so a user or a script can name the tree a run tested.
// Nothing in the repository changes: no ref, no index, no file.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "sync/snapshot.h"

namespace specswarm::cli {

void AddSnapshotCommand(CLI::App& app, CommandAction* chosen) {
  struct Flags {
    std::string dir = ".";
    bool tracked_only = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "snapshot", "Print the commit id of the working tree as it is (uncommitted changes included)");
  cmd->add_option("DIR", flags->dir, "A directory inside the git working tree (default: .)");
  cmd->add_flag("--tracked-only", flags->tracked_only,
                "Leave out untracked files (ignored files are always left out)");
  cmd->callback([chosen, flags] {
    *chosen = [flags] {
      sync::SnapshotOptions options;
      options.include_untracked = !flags->tracked_only;
      Result<sync::Snapshot> snap = sync::TakeSnapshot(flags->dir, options);
      if (!snap.ok()) {
        std::fprintf(stderr, "specswarm: %s\n", snap.status().message().c_str());
        return 2;
      }
      std::printf("%s\n", snap->commit.c_str());
      return 0;
    };
  });
}

}  // namespace specswarm::cli
