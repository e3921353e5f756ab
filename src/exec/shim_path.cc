#include "exec/shim_path.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace specswarm::exec {

Result<std::string> FindWorkerShim() {
  namespace fs = std::filesystem;
  // Under bin/: RSpec's backtrace filter hides frames from bin/ (see the shim's header).
  constexpr const char* kShim = "bin/specswarm_worker.rb";
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("SPECSWARM_RUBY_DIR")) candidates.emplace_back(dir);
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(self.parent_path().parent_path() / "share/specswarm/ruby");
  // A build-tree binary runs the shim of the source it was built from, even where another
  // specswarm is installed.
  candidates.emplace_back(SPECSWARM_RUBY_SOURCE_DIR);
  candidates.emplace_back(SPECSWARM_RUBY_INSTALL_DIR);
  for (const auto& dir : candidates) {
    if (fs::exists(dir / kShim, ec)) return (dir / kShim).string();
  }
  return Status::Error(std::string("cannot find ") + kShim +
                       ": reinstall specswarm or set SPECSWARM_RUBY_DIR to its ruby/ folder");
}

}  // namespace specswarm::exec
