// Placeholder until the discover module lands; replaced by its owner.
#include <cstdio>
#include <CLI/CLI.hpp>
#include "cli/commands.h"
namespace specswarm::cli {
void AddDiscoverCommand(CLI::App& app, CommandAction* chosen) {
  app.add_subcommand("discover", "not built yet")->callback([chosen] {
    *chosen = [] { std::fprintf(stderr, "specswarm: discover is not built yet\n"); return 2; };
  });
}
}  // namespace specswarm::cli
