// The subcommands of the `specswarm` binary. Each lives in its own file and registers itself
// on the CLI11 app; main() parses once and runs the action of the subcommand the user chose.
// Exit codes everywhere: 0 success, 1 the thing checked failed (tests, no peers), 2 a problem
// that is not a test failure (bad flag, not a Ruby project, missing tool).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI { class App; }

namespace specswarm::cli {

using CommandAction = std::function<int()>;

// This machine's host name: what results, logs and peers show for it.
std::string Hostname();

// Each Add*Command adds its subcommand to `app` and, when the user picks it, stores the action
// that runs it in `*chosen`.
// `rspec_args` are the arguments after `--`, which reach every worker's RSpec.
void AddRunCommand(CLI::App& app, CommandAction* chosen, std::vector<std::string> rspec_args);
void AddSnapshotCommand(CLI::App& app, CommandAction* chosen);
void AddDiscoverCommand(CLI::App& app, CommandAction* chosen);
void AddJoinCommand(CLI::App& app, CommandAction* chosen);
void AddStatusCommand(CLI::App& app, CommandAction* chosen);
void AddKeyCommand(CLI::App& app, CommandAction* chosen);
// `specswarm tray ARGS...` hands ARGS to the tray binary untouched (tray_command.cc): main runs
// it before parsing, and lists it in --help with this description.
inline constexpr const char* kTrayDescription = "A tray icon showing the swarm's idle cores, with a switch to share this machine's (specswarm tray --help)";
int RunTray(int argc, char** argv);

}  // namespace specswarm::cli
