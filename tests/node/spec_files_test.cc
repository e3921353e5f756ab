#include <catch2/catch.hpp>

#include "node/spec_files.h"
#include "test_support.h"

using namespace specswarm::node;
using specswarm::testing::TempDir;
using specswarm::testing::WriteFile;

namespace {
std::vector<std::string> Paths(const std::vector<SpecFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}
}  // namespace

TEST_CASE("by default every spec/**/*_spec.rb is found, sorted") {
  TempDir dir;
  WriteFile(dir.path() / "spec/z_spec.rb", "");
  WriteFile(dir.path() / "spec/models/a_spec.rb", "12345");
  WriteFile(dir.path() / "spec/spec_helper.rb", "");
  WriteFile(dir.path() / "spec/support/helpers.rb", "");
  auto files = FindSpecFiles(dir.str(), {});
  REQUIRE(files.ok());
  CHECK(Paths(*files) == std::vector<std::string>{"spec/models/a_spec.rb", "spec/z_spec.rb"});
  CHECK((*files)[0].size == 5);
  CHECK((*files)[0].content_hash.size() == 16);
}

TEST_CASE("named files, folders and rspec line filters are honoured") {
  TempDir dir;
  WriteFile(dir.path() / "spec/a_spec.rb", "");
  WriteFile(dir.path() / "spec/models/b_spec.rb", "");
  WriteFile(dir.path() / "spec/models/c_spec.rb", "");
  auto files = FindSpecFiles(dir.str(), {"spec/models", "spec/a_spec.rb:3", "spec/a_spec.rb[1:2]"});
  REQUIRE(files.ok());
  CHECK(Paths(*files) == std::vector<std::string>{"spec/a_spec.rb", "spec/models/b_spec.rb", "spec/models/c_spec.rb"});
  CHECK((*files)[0].targets == std::vector<std::string>{"spec/a_spec.rb:3", "spec/a_spec.rb[1:2]"});
  CHECK((*files)[1].targets.empty());
}

TEST_CASE("unknown paths, empty folders and non-projects are clear errors") {
  TempDir dir;
  WriteFile(dir.path() / "spec/spec_helper.rb", "");
  auto missing = FindSpecFiles(dir.str(), {"spec/nope_spec.rb"});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Catch::Contains("spec/nope_spec.rb does not exist"));
  auto empty = FindSpecFiles(dir.str(), {});
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("no spec files"));

  TempDir not_ruby;
  WriteFile(not_ruby.path() / "README", "");
  CHECK_FALSE(CheckRubyProject(not_ruby.str()).ok());
  CHECK(CheckRubyProject(dir.str()).ok());
}
