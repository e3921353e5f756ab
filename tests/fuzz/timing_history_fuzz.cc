// Fuzz target: the timing history .specswarm/timings (it lives in the project, so it may be
// committed, merged or edited by hand) through TimingHistory::Parse, the parser behind Load
// (src/node/timing_history.h). What it accepts must hold only what the planner expects.
#include "fuzz_check.h"
#include "node/timing_history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using specswarm::node::TimingHistory;
  specswarm::Result<TimingHistory> history = TimingHistory::Parse(specswarm::fuzz::Text(data, size), "timings");
  if (!history.ok()) return 0;
  for (const auto& [file, timing] : history->files()) {
    FUZZ_CHECK(!file.empty() && timing.seconds >= 0 && timing.seconds < 1e9);
  }
  for (const auto& [id, seconds] : history->examples()) {
    FUZZ_CHECK(id.find('[') != std::string::npos && seconds >= 0 && seconds < 1e9);
  }
  return 0;
}
