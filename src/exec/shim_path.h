// Where the Ruby side of specswarm lives: $SPECSWARM_RUBY_DIR, else ../share/specswarm/ruby
// beside the running binary (an installed specswarm), else the source tree it was built from.
#pragma once

#include "base/status.h"

namespace specswarm::exec {

Result<std::string> FindWorkerShim();

}  // namespace specswarm::exec
