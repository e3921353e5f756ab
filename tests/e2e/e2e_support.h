// Runs `specswarm run` and a serial `rspec` on copies of the fixture projects in
// tests/e2e/fixtures, and reads both results from RSpec's JSON schema.
#pragma once

#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"

namespace specswarm::e2e {

struct Counts {
  int examples = -1;
  int failures = -1;
  int pending = -1;
  int errors_outside = -1;
  int exit_code = -1;
  bool operator==(const Counts&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Counts& c);

// A fixture project copied into a temporary directory.
class Project {
 public:
  explicit Project(const std::string& fixture);
  const std::string dir() const { return dir_.str() + "/project"; }

  // `specswarm run ARGS` (a --json report is added); fills counts from it.
  testing::CommandResult Specswarm(const std::string& args, Counts* counts = nullptr,
                                   nlohmann::json* report = nullptr,
                                   const std::map<std::string, std::string>& env = {}) const;
  // A serial `rspec ARGS` (a JSON report is added).
  Counts SerialRspec(const std::string& args, const std::map<std::string, std::string>& env = {}) const;

 private:
  testing::TempDir dir_;
};

Counts CountsOf(const nlohmann::json& report, int exit_code);

}  // namespace specswarm::e2e
