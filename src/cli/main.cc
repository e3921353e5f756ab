// specswarm: run an RSpec suite on every idle core of every machine in the office.
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/version.h"

std::string specswarm::cli::Hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

int main(int argc, char** argv) {
  using namespace specswarm::cli;
  // Started with stdin, stdout or stderr closed (`<&-`, some daemons): /dev/null takes the
  // number, so no file or pipe opened later lands there and reaches a spec as its stdin.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
  }
  // The tray parses its own arguments (Qt's among them): hand them over untouched.
  if (argc >= 2 && std::string(argv[1]) == "tray") return RunTray(argc - 1, argv + 1);
  CLI::App app{"specswarm: run RSpec suites on every idle core of the office", "specswarm"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);
  // Everything after the first `--` belongs to RSpec, untouched by our parser.
  std::vector<std::string> rspec_args;
  int own_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      rspec_args.assign(argv + i + 1, argv + argc);
      own_argc = i;
      break;
    }
  }
  CommandAction chosen;
  AddRunCommand(app, &chosen, rspec_args);
  AddSnapshotCommand(app, &chosen);
  AddDiscoverCommand(app, &chosen);
  AddJoinCommand(app, &chosen);
  AddStatusCommand(app, &chosen);
  AddKeyCommand(app, &chosen);
  app.add_subcommand("tray", kTrayDescription);  // listed only: run above
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line saying what is wrong and where to look, exit 2 (CLI11 would exit 1 or 106...).
    std::fprintf(stderr, "specswarm: %s (see specswarm --help)\n", e.what());
    return 2;
  }
  return chosen ? chosen() : 2;
}
