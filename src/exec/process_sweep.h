// Process sweep: nothing a run starts outlives it. specswarm makes itself the "child
// subreaper" of its run, so a process a spec daemonized (double fork, setsid) is re-parented
// to specswarm instead of init; at the end of the run every process still below specswarm is
// found, ended (TERM, a grace period, KILL) and reaped, and the run says what it ended.
//
// Linux-only (/proc, prctl). Functions, no state; call them from the thread that runs the run.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/status.h"

namespace specswarm::exec {

// Orphans below this process are re-parented to it from now on.
Status BecomeSubreaper();

// Reaps exited children that are not in `keep` (orphans re-parented here during the run that
// have since exited), so they do not linger as zombies. Never blocks.
void ReapOrphans(const std::vector<pid_t>& keep);

struct EndedProcess {
  pid_t pid = 0;
  std::string command;  // its command line, as ps shows it
};

// Ends every live descendant of this process and reaps them; returns what was running.
std::vector<EndedProcess> EndDescendants(std::chrono::milliseconds grace);

}  // namespace specswarm::exec
