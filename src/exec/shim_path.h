// Where the Ruby side of specswarm lives: $SPECSWARM_RUBY_DIR, else ../share/specswarm/ruby
// beside the running binary (an installed specswarm), else the source tree it was built from,
// else the configured install prefix. A build-tree binary reads the shim from the source tree
// at every run, so benchmarks pin it with SPECSWARM_RUBY_DIR (bench/local/run.sh does).
#pragma once

#include "base/status.h"

namespace specswarm::exec {

Result<std::string> FindWorkerShim();

}  // namespace specswarm::exec
