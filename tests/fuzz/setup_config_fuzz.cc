// Fuzz target: .specswarm.yml, which arrives on a peer inside the coordinator's commit, through
// ParseSetupConfig (src/sync/setup_hooks.h; yaml-cpp underneath). Hooks it accepts must have
// the names and commands SetupHooks relies on.
#include <set>

#include "fuzz_check.h"
#include "sync/setup_hooks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace specswarm::sync;
  specswarm::Result<SetupConfig> config = ParseSetupConfig(specswarm::fuzz::Text(data, size), {"spec_dir"});
  if (!config.ok()) return 0;
  for (const std::vector<Hook>* hooks : {&config->per_peer, &config->per_slot}) {
    std::set<std::string> names;
    for (const Hook& hook : *hooks) {
      FUZZ_CHECK(!hook.name.empty() && !hook.run.empty() && hook.line > 0);
      FUZZ_CHECK(hook.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                 std::string::npos);
      FUZZ_CHECK(names.insert(hook.name).second);
    }
  }
  return 0;
}
