#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "cli/report_files.h"
#include "test_support.h"

using namespace specswarm;
using exec::ExampleStatus;

namespace {

exec::ExampleResult Example(const std::string& id, const std::string& description, ExampleStatus status, int slot) {
  exec::ExampleResult e;
  e.id = "./spec/models/user_spec.rb[" + id + "]";
  e.description = description;
  e.full_description = "User " + description;
  e.status = status;
  e.file_path = "./spec/models/user_spec.rb";
  e.line_number = 4;
  e.run_time = 0.125;
  e.slot = slot;
  return e;
}

// Two slots' worth of results: a pass, a failure with markup in its message, a pending
// example, and a file that crashed its worker.
node::RunReport SampleReport() {
  node::RunReport report;
  exec::UnitResult first;
  first.file = "spec/models/user_spec.rb";
  first.examples.push_back(Example("1:1", "saves <ok> & \"quoted\"", ExampleStatus::kPassed, 1));
  auto failed = Example("1:2", "rejects bad emails", ExampleStatus::kFailed, 1);
  failed.exception = exec::ExceptionInfo{"RSpec::Expectations::ExpectationNotMetError",
                                         "expected: <nil>\n     got: \"a\033[31m\"", {"./spec/models/user_spec.rb:9"}};
  failed.block = {"  1) User rejects bad emails", "     Failure/Error: expect(x).to be_nil"};
  first.examples.push_back(failed);
  exec::UnitResult second;
  second.file = "spec/models/user_spec.rb";
  auto pending = Example("2:1", "is pending", ExampleStatus::kPending, 2);
  pending.pending_message = "later";
  second.examples.push_back(pending);
  exec::UnitResult crashed;
  crashed.file = "spec/crash_spec.rb";
  crashed.slot = 2;
  crashed.outcome = exec::UnitOutcome::kCrashed;
  crashed.problem = "killed by signal 11 (Segmentation fault)";
  crashed.errors_outside_examples = 1;
  report.Add(first);
  report.Add(second);
  report.Add(crashed);
  report.wall_time = 2.5;
  return report;
}

}  // namespace

TEST_CASE("JUnit XML parses back with one testcase per example and one per error") {
  const std::string xml = cli::JunitXml(SampleReport(), "build-host");
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_string(xml.c_str());
  INFO(xml);
  REQUIRE(parsed);
  pugi::xml_node suite = doc.child("testsuites").child("testsuite");
  REQUIRE(suite);
  CHECK(suite.attribute("tests").as_int() == 4);
  CHECK(suite.attribute("failures").as_int() == 1);
  CHECK(suite.attribute("errors").as_int() == 1);
  CHECK(suite.attribute("skipped").as_int() == 1);
  CHECK(std::string(suite.attribute("hostname").value()) == "build-host");

  std::vector<pugi::xml_node> cases;
  for (auto c : suite.children("testcase")) cases.push_back(c);
  REQUIRE(cases.size() == 4);
  CHECK(std::string(cases[0].attribute("classname").value()) == "spec.models.user_spec");
  CHECK(std::string(cases[0].attribute("name").value()) == "User saves <ok> & \"quoted\"");
  CHECK_FALSE(cases[0].child("failure"));
  pugi::xml_node failure = cases[1].child("failure");
  REQUIRE(failure);
  CHECK(std::string(failure.attribute("type").value()) == "RSpec::Expectations::ExpectationNotMetError");
  CHECK_THAT(std::string(failure.attribute("message").value()), Catch::Contains("expected: <nil>"));
  CHECK_THAT(std::string(failure.child_value()), Catch::Contains("Failure/Error"));
  CHECK(std::string(cases[1].child_value("system-out")) == "slot 1");
  CHECK(std::string(cases[2].child("skipped").attribute("message").value()) == "later");
  REQUIRE(cases[3].child("error"));
  CHECK_THAT(std::string(cases[3].child("error").attribute("message").value()), Catch::Contains("signal 11"));
}

TEST_CASE("JSON follows RSpec's JSON formatter schema, merged across slots") {
  auto doc = nlohmann::json::parse(cli::RspecJson(SampleReport()));
  REQUIRE(doc["examples"].size() == 3);
  CHECK(doc["summary"]["example_count"] == 3);
  CHECK(doc["summary"]["failure_count"] == 1);
  CHECK(doc["summary"]["pending_count"] == 1);
  CHECK(doc["summary"]["errors_outside_of_examples_count"] == 1);
  CHECK(doc["summary_line"] == "3 examples, 1 failure, 1 pending, 1 error occurred outside of examples");
  const auto& failed = doc["examples"][1];
  CHECK(failed["status"] == "failed");
  CHECK(failed["id"] == "./spec/models/user_spec.rb[1:2]");
  CHECK(failed["exception"]["class"] == "RSpec::Expectations::ExpectationNotMetError");
  CHECK(failed["line_number"] == 4);
  CHECK(doc["examples"][2]["pending_message"] == "later");
  CHECK(doc["examples"][0]["pending_message"].is_null());
}

TEST_CASE("report files are written whole or not at all") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/reports/rspec.xml";
  REQUIRE(cli::WriteReportFile(path, "<x/>").ok());
  CHECK(testing::ReadFile(path) == "<x/>");
  Status bad = cli::WriteReportFile(dir.str() + "/reports/rspec.xml/inside", "x");
  CHECK_FALSE(bad.ok());
  CHECK(testing::ReadFile(path) == "<x/>");
}
