// The report files a run can write for CI systems and scripts, both built from one RunReport
// merged across every slot:
//  - JUnit XML (--junit FILE): one <testcase> per example, plus one per error outside of
//    examples, in the shape rspec_junit_formatter gives CI systems.
//  - JSON (--json FILE): RSpec's own JSON formatter schema ("examples", "summary" with
//    example_count, failure_count, pending_count, errors_outside_of_examples_count).
#pragma once

#include <string>

#include "base/status.h"
#include "node/run_report.h"

namespace specswarm::cli {

std::string JunitXml(const node::RunReport& report, const std::string& hostname);
// Every example carries "slot" and "host" (the node that ran it; `hostname` for this machine's).
std::string RspecJson(const node::RunReport& report, const std::string& hostname = "");

// Writes `content` to `path` through a temporary file, so a reader never sees half a report.
Status WriteReportFile(const std::string& path, const std::string& content);

}  // namespace specswarm::cli
