// `specswarm tray ...`: runs the tray indicator, specswarm-tray, a separate binary so that the CLI
// and `join` never load Qt. Every argument after `tray` is its own (`specswarm tray --help`).
// It is found beside this binary (a build tree) or in libexec (installed); SPECSWARM_BIN tells
// it which CLI to ask for status and to start `join` with.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "cli/commands.h"

namespace specswarm::cli {

int RunTray(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::fprintf(stderr, "specswarm: cannot find this binary (/proc/self/exe): %s\n", ec.message().c_str());
    return 2;
  }
  const fs::path candidates[] = {
      self.parent_path() / "specswarm-tray",
      self.parent_path().parent_path() / SPECSWARM_LIBEXEC_SUBDIR / "specswarm" / "specswarm-tray",
      fs::path(SPECSWARM_TRAY_INSTALL_PATH),
  };
  for (const fs::path& tray : candidates) {
    if (access(tray.c_str(), X_OK) != 0) continue;
    setenv("SPECSWARM_BIN", self.c_str(), 1);
    argv[0] = const_cast<char*>(tray.c_str());
    execv(tray.c_str(), argv);
    std::fprintf(stderr, "specswarm: cannot run %s: %s\n", tray.c_str(), std::strerror(errno));
    return 2;
  }
  (void)argc;
  std::fprintf(stderr,
               "specswarm: this specswarm has no tray: it was built without Qt 6 (install qt6-base-dev and build "
               "again, or install the specswarm package)\n");
  return 2;
}

}  // namespace specswarm::cli
