// Fuzz target: one line of a Ruby worker's result channel through ParseWorkerEvent
// (src/exec/worker_event.h). The worker runs the project's code, which may write anything on
// that descriptor: parsing must never crash, throw or trip a sanitizer (numbers out of range
// included).
#include "exec/worker_event.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  specswarm::exec::ParseWorkerEvent(specswarm::fuzz::Text(data, size));
  return 0;
}
