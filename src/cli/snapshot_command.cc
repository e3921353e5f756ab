// Placeholder until the snapshot module lands; replaced by its owner.
#include <cstdio>
#include <CLI/CLI.hpp>
#include "cli/commands.h"
namespace specswarm::cli {
void AddSnapshotCommand(CLI::App& app, CommandAction* chosen) {
  app.add_subcommand("snapshot", "not built yet")->callback([chosen] {
    *chosen = [] { std::fprintf(stderr, "specswarm: snapshot is not built yet\n"); return 2; };
  });
}
}  // namespace specswarm::cli
