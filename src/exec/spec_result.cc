#include "exec/spec_result.h"

#include <algorithm>

namespace specswarm::exec {

bool UnitResult::HasFailures() const {
  return errors_outside_examples > 0 || CountStatus(ExampleStatus::kFailed) > 0;
}

int UnitResult::CountStatus(ExampleStatus status) const {
  return static_cast<int>(std::count_if(examples.begin(), examples.end(),
                                        [&](const ExampleResult& e) { return e.status == status; }));
}

const char* StatusName(ExampleStatus status) {
  switch (status) {
    case ExampleStatus::kPassed: return "passed";
    case ExampleStatus::kFailed: return "failed";
    case ExampleStatus::kPending: return "pending";
  }
  return "unknown";
}

}  // namespace specswarm::exec
