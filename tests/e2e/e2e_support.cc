#include "e2e_support.h"

#include <catch2/catch.hpp>
#include <ostream>

namespace specswarm::e2e {

std::ostream& operator<<(std::ostream& out, const Counts& c) {
  return out << "{examples " << c.examples << ", failures " << c.failures << ", pending " << c.pending
             << ", errors outside " << c.errors_outside << ", exit " << c.exit_code << "}";
}

Project::Project(const std::string& fixture) {
  testing::CopyFixture(SPECSWARM_TEST_FIXTURES, fixture, dir_.path() / "project");
}

Counts CountsOf(const nlohmann::json& report, int exit_code) {
  Counts c;
  const auto& s = report.at("summary");
  c.examples = s.at("example_count");
  c.failures = s.at("failure_count");
  c.pending = s.at("pending_count");
  c.errors_outside = s.value("errors_outside_of_examples_count", 0);
  c.exit_code = exit_code;
  return c;
}

testing::CommandResult Project::Specswarm(const std::string& args, Counts* counts, nlohmann::json* report,
                                          const std::map<std::string, std::string>& env) const {
  const std::string json_path = dir_.str() + "/specswarm.json";
  std::filesystem::remove(json_path);
  // --json goes before `--` so it stays ours.
  std::string own = args, rest;
  if (auto dashes = args.find(" -- "); dashes != std::string::npos) {
    own = args.substr(0, dashes);
    rest = args.substr(dashes);
  }
  auto result = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --json " + json_path + " " + own + rest, dir(), env);
  if (counts || report) {
    INFO("specswarm output:\n" << result.out << result.err);
    REQUIRE(std::filesystem::exists(json_path));
    auto parsed = nlohmann::json::parse(testing::ReadFile(json_path));
    if (counts) *counts = CountsOf(parsed, result.exit_code);
    if (report) *report = parsed;
  }
  return result;
}

Counts Project::SerialRspec(const std::string& args, const std::map<std::string, std::string>& env) const {
  const std::string json_path = dir_.str() + "/serial.json";
  auto result = testing::RunCommand("rspec --format json --out " + json_path + " " + args, dir(), env);
  INFO("rspec output:\n" << result.out << result.err);
  REQUIRE(std::filesystem::exists(json_path));
  return CountsOf(nlohmann::json::parse(testing::ReadFile(json_path)), result.exit_code);
}

}  // namespace specswarm::e2e
