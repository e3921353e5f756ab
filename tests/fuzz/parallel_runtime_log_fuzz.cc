// Fuzz target: parallel_tests' runtime log (tmp/parallel_runtime_rspec.log, written by another
// tool and read when specswarm has no history of its own) through
// TimingHistory::ParseParallelRuntimeLog, the parser behind LoadParallelRuntimeLog.
#include "fuzz_check.h"
#include "node/timing_history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using specswarm::node::TimingHistory;
  specswarm::Result<TimingHistory> history =
      TimingHistory::ParseParallelRuntimeLog(specswarm::fuzz::Text(data, size), "tmp/parallel_runtime_rspec.log");
  if (!history.ok()) return 0;
  for (const auto& [file, timing] : history->files()) {
    FUZZ_CHECK(timing.seconds >= 0 && timing.seconds < 1e9);
  }
  return 0;
}
