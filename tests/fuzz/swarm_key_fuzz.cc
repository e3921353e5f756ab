// Fuzz target: a swarm key file (src/node/swarm_key.h), which `specswarm key import FILE` reads
// from whatever a teammate handed over. A key ParseSwarmKey accepts must survive
// FormatSwarmKey -> ParseSwarmKey unchanged and have a well-formed fingerprint.
#include "discovery/txt_record.h"
#include "fuzz_check.h"
#include "node/swarm_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace specswarm::node;
  specswarm::Result<SwarmKey> key = ParseSwarmKey(specswarm::fuzz::Text(data, size));
  if (!key.ok()) {
    FUZZ_CHECK(!key.status().message().empty());
    return 0;
  }
  specswarm::Result<SwarmKey> again = ParseSwarmKey(FormatSwarmKey(*key));
  FUZZ_CHECK(again.ok() && *again == *key);
  FUZZ_CHECK(specswarm::discovery::IsSwarmFingerprint(key->Fingerprint()));
  return 0;
}
