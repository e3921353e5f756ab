// Diagnose: why this machine sees no peers, as far as it can check by itself. Each Finding is a
// problem and what to do about it, in words a developer can act on; `specswarm discover`
// prints them when it finds nobody. Checks read local state only (sockets, interfaces,
// firewall rules when readable) and never send anything.
#pragma once

#include <string>
#include <vector>

#include "discovery/backend.h"

namespace specswarm::discovery {

struct Finding {
  std::string problem;
  std::string fix;
};

struct DiagnoseInput {
  BackendState backend_state = BackendState::kStarting;
  std::string backend_why;  // the backend's own reason when unavailable
  bool had_seeds = false;   // --peer or config seeds were tried
};

std::vector<Finding> Diagnose(const DiagnoseInput& input);

// The individual checks, exposed for tests. Each returns an empty problem when all is well.
Finding CheckSystemBus();
Finding CheckAvahiDaemon();
Finding CheckMulticastInterfaces();
Finding CheckFirewall();

}  // namespace specswarm::discovery
