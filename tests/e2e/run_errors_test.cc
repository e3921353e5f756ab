// Problems that are not test failures: one clear line, exit 2, nothing kept is corrupted.
#include <catch2/catch.hpp>

#include "e2e_support.h"

using namespace specswarm;
using namespace specswarm::e2e;

namespace {
// The first line of stderr, which must be the whole message.
std::string OneLine(const testing::CommandResult& r) {
  CHECK(r.err.find('\n') == r.err.size() - 1);
  return r.err;
}
}  // namespace

TEST_CASE("outside a Ruby project, specswarm says where to run it") {
  testing::TempDir dir;
  auto r = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run", dir.str());
  CHECK(r.exit_code == 2);
  CHECK_THAT(OneLine(r), Catch::Contains("is not a Ruby project") && Catch::Contains("project's root"));
}

TEST_CASE("a project without spec files, or an unknown path, is exit 2 with one line") {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "spec/spec_helper.rb", "");
  auto none = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run", dir.str());
  CHECK(none.exit_code == 2);
  CHECK_THAT(OneLine(none), Catch::Contains("no spec files"));
  auto unknown = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run spec/nope_spec.rb", dir.str());
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(OneLine(unknown), Catch::Contains("spec/nope_spec.rb does not exist"));
}

TEST_CASE("bad flags are exit 2 with one line") {
  Project project("basic");
  for (const std::string args : {"--slots 0", "--slots many", "--format fancy", "--frobnicate"}) {
    auto r = project.Specswarm(args);
    INFO(args);
    CHECK(r.exit_code == 2);
    CHECK_THAT(OneLine(r), Catch::StartsWith("specswarm: "));
  }
}

TEST_CASE("a corrupt timing history is exit 2, and is left exactly as it was") {
  Project project("basic");
  const std::string path = project.dir() + "/.specswarm/timings";
  testing::WriteFile(path, "F 1.0 abc spec/hash_spec.rb\nthis line is garbage\n");
  auto r = project.Specswarm("");
  CHECK(r.exit_code == 2);
  CHECK_THAT(OneLine(r), Catch::Contains("line 2") && Catch::Contains("delete it"));
  CHECK(testing::ReadFile(path) == "F 1.0 abc spec/hash_spec.rb\nthis line is garbage\n");
}

TEST_CASE("without ruby, specswarm says what to install") {
  Project project("basic");
  auto r = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run", project.dir(),
                               {{"SPECSWARM_RUBY", "/nonexistent/ruby"}});
  CHECK(r.exit_code == 2);
  CHECK_THAT(OneLine(r), Catch::Contains("install Ruby"));
}

TEST_CASE("without rspec for the project's ruby, specswarm says what to install") {
  Project project("basic");
  // A Ruby that cannot see Debian's rspec: its gem paths emptied.
  testing::TempDir bin;
  testing::WriteFile(bin.path() / "ruby", "#!/bin/sh\nexec /usr/bin/ruby --disable-gems -e '$LOAD_PATH.reject! { |p| p.include?(\"rubygems-integration\") || p.include?(\"vendor_ruby\") }; load ARGV.shift' \"$@\"\n");
  std::filesystem::permissions(bin.path() / "ruby", std::filesystem::perms::owner_all);
  auto r = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run", project.dir(),
                               {{"SPECSWARM_RUBY", (bin.path() / "ruby").string()}});
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK_THAT(OneLine(r), Catch::Contains("RSpec is not installed"));
}

TEST_CASE("a helper that raises at boot stops the run with its error, exit 1 like rspec") {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / ".rspec", "--require spec_helper\n");
  testing::WriteFile(dir.path() / "spec/spec_helper.rb", "raise 'database unreachable'\n");
  testing::WriteFile(dir.path() / "spec/a_spec.rb", "RSpec.describe('a') { it('b') {} }\n");
  auto r = testing::RunCommand(std::string(SPECSWARM_BINARY) + " run --slots 2", dir.str());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("An error occurred while booting the project") &&
                        Catch::Contains("database unreachable"));
}
