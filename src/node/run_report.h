// RunReport: every unit result of one run and what follows from them: the totals a Ruby
// developer reads ("12 examples, 1 failure, 2 pending"), the failures and pending examples in
// the order they arrived, and the units that ended in an error outside of examples. The
// console, JUnit and JSON writers all read the same report.
#pragma once

#include <string>
#include <vector>

#include "exec/spec_result.h"

namespace specswarm::node {

struct RunTotals {
  int examples = 0;
  int failures = 0;
  int pending = 0;
  int errors_outside = 0;  // load errors, crashes, timeouts, lost workers
};

class RunReport {
 public:
  void Add(exec::UnitResult unit);

  const std::vector<exec::UnitResult>& units() const { return units_; }
  RunTotals Totals() const;
  std::vector<const exec::ExampleResult*> Failures() const;
  std::vector<const exec::ExampleResult*> Pending() const;
  // Units with an error outside of examples, in arrival order.
  std::vector<const exec::UnitResult*> Errors() const;
  bool Passed() const;
  // Names `host` on every unit and example that has no host yet (this machine's own slots).
  void StampHost(const std::string& host);

  int slots = 0;
  double wall_time = 0;      // seconds, start to last result
  double slowest_boot = 0;   // seconds the slowest slot took to boot the project
  bool interrupted = false;  // the user pressed ^C
  int not_run = 0;           // units dropped by --fail-fast or an interrupt
  std::string boot_error;    // set when no slot could boot the project (then no units ran)
  std::string boot_error_kind;  // "bundler" when bundler/setup failed

 private:
  std::vector<exec::UnitResult> units_;
};

}  // namespace specswarm::node
