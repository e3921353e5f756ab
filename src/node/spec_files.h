// Finding the spec files of a run in a Ruby project, the way `rspec` would: every
// spec/**/*_spec.rb by default, or the files and folders given on the command line, where a
// file may carry RSpec's own filters ("spec/a_spec.rb:12", "spec/a_spec.rb[1:2]").
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "node/spec_plan.h"

namespace specswarm::node {

// Checks that `project_dir` looks like a Ruby project with specs, with a message saying what to
// do when it does not.
Status CheckRubyProject(const std::string& project_dir);

// The spec files for `paths` (relative to the project, or absolute inside it), sorted and
// de-duplicated, with size and content hash. An unknown path or an empty result is an error.
Result<std::vector<SpecFile>> FindSpecFiles(const std::string& project_dir,
                                            const std::vector<std::string>& paths);

// Writes the run's targets (files, file:line), one a line: what every slot loads, here or on a
// peer, as `rspec` would see its arguments.
Status WriteTargetsFile(const std::string& path, const std::vector<std::string>& targets);

// The project's .ruby-version ("3.1.2", "ruby-3.1.2" gives "3.1.2"), "" when it has none.
std::string ProjectRubyVersion(const std::string& project_dir);

// Names a repository's object store on peers: its folder name and a hash of its path, within
// ObjectStore's rules ([A-Za-z0-9._-], at most 100).
std::string RepoKey(const std::string& repo_dir);

}  // namespace specswarm::node
