#include <catch2/catch.hpp>

#include "node/timing_history.h"
#include "test_support.h"

using namespace specswarm::node;
using specswarm::testing::ReadFile;
using specswarm::testing::TempDir;
using specswarm::testing::WriteFile;

namespace {
specswarm::exec::UnitResult Unit(const std::string& file, double wall,
                                 std::vector<std::pair<std::string, double>> examples) {
  specswarm::exec::UnitResult unit;
  unit.file = file;
  unit.wall_time = wall;
  for (auto& [id, t] : examples) {
    specswarm::exec::ExampleResult e;
    e.id = id;
    e.run_time = t;
    unit.examples.push_back(e);
  }
  return unit;
}
}  // namespace

TEST_CASE("a history survives a save and a load") {
  TempDir dir;
  TimingHistory history;
  history.SetFile("spec/a b_spec.rb", FileTiming{1.5, "abc"});
  history.SetExample("./spec/a b_spec.rb[1:1]", 0.25);
  history.AddContextGroup("./spec/a b_spec.rb[1]");
  const std::string path = dir.str() + "/.specswarm/timings";
  REQUIRE(history.Save(path).ok());
  auto loaded = TimingHistory::Load(path);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->File("spec/a b_spec.rb"));
  CHECK(loaded->File("spec/a b_spec.rb")->seconds == Approx(1.5));
  CHECK(loaded->File("spec/a b_spec.rb")->content_hash == "abc");
  CHECK(loaded->examples().at("./spec/a b_spec.rb[1:1]") == Approx(0.25));
  CHECK(loaded->context_groups().count("./spec/a b_spec.rb[1]") == 1);
}

TEST_CASE("a missing history is empty, not an error") {
  TempDir dir;
  auto loaded = TimingHistory::Load(dir.str() + "/nothing");
  REQUIRE(loaded.ok());
  CHECK(loaded->empty());
}

TEST_CASE("a corrupt history is an error naming the line and what to do") {
  TempDir dir;
  const std::string path = dir.str() + "/timings";
  WriteFile(path, "# header\nF 1.0 abc spec/a_spec.rb\nF banana abc spec/b_spec.rb\n");
  auto loaded = TimingHistory::Load(path);
  REQUIRE_FALSE(loaded.ok());
  CHECK_THAT(loaded.status().message(), Catch::Contains("line 3"));
  CHECK_THAT(loaded.status().message(), Catch::Contains("delete it"));
  WriteFile(path, "Z what\n");
  CHECK_FALSE(TimingHistory::Load(path).ok());
  WriteFile(path, "E 1.0 not-an-id\n");
  CHECK_FALSE(TimingHistory::Load(path).ok());
}

TEST_CASE("a failed save leaves the previous history as it was") {
  TempDir dir;
  const std::string path = dir.str() + "/timings";
  WriteFile(path, "F 1.000000 abc spec/a_spec.rb\n");
  // The temporary file cannot be created where a directory of that name already stands.
  std::filesystem::create_directories(path + ".tmp." + std::to_string(getpid()));
  TimingHistory history;
  history.SetFile("spec/other_spec.rb", FileTiming{2, "x"});
  CHECK_FALSE(history.Save(path).ok());
  CHECK(ReadFile(path) == "F 1.000000 abc spec/a_spec.rb\n");
}

TEST_CASE("parallel_tests' runtime log seeds an empty history") {
  TempDir dir;
  const std::string path = dir.str() + "/parallel_runtime_rspec.log";
  WriteFile(path, "spec/a_spec.rb:1.25\n./spec/b_spec.rb:3\n");
  auto loaded = TimingHistory::LoadParallelRuntimeLog(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->File("spec/a_spec.rb")->seconds == Approx(1.25));
  CHECK(loaded->File("spec/b_spec.rb")->seconds == Approx(3));
  WriteFile(path, "spec/a_spec.rb:soon\n");
  CHECK_FALSE(TimingHistory::LoadParallelRuntimeLog(path).ok());
}

TEST_CASE("recording a file replaces what was known of it, and only of it") {
  TimingHistory history;
  history.SetExample("./spec/a_spec.rb[1:9]", 5);  // an example that no longer exists
  history.SetExample("./spec/ab_spec.rb[1:1]", 7); // another file sharing the prefix "spec/a"
  auto whole = Unit("spec/a_spec.rb", 1.0, {{"./spec/a_spec.rb[1:1]", 0.5}});
  history.Record("spec/a_spec.rb", "h1", {&whole});
  CHECK(history.examples().count("./spec/a_spec.rb[1:9]") == 0);
  CHECK(history.examples().count("./spec/ab_spec.rb[1:1]") == 1);
  CHECK(history.File("spec/a_spec.rb")->seconds == Approx(1.0));

  // Run in two parts, the file's load overhead is counted once.
  auto part1 = Unit("spec/a_spec.rb", 2.5, {{"./spec/a_spec.rb[1]", 2.0}});
  auto part2 = Unit("spec/a_spec.rb", 3.4, {{"./spec/a_spec.rb[2]", 3.0}});
  history.Record("spec/a_spec.rb", "h2", {&part1, &part2});
  CHECK(history.File("spec/a_spec.rb")->seconds == Approx(5.5));
  CHECK(history.File("spec/a_spec.rb")->content_hash == "h2");
}

TEST_CASE("content hashes tell edited files apart") {
  TempDir dir;
  WriteFile(dir.path() / "a.rb", "it 'x'\n");
  const std::string before = ContentHash((dir.path() / "a.rb").string());
  WriteFile(dir.path() / "a.rb", "it 'y'\n");
  CHECK(before.size() == 16);
  CHECK(ContentHash((dir.path() / "a.rb").string()) != before);
  CHECK(FileOfId("./spec/a_spec.rb[1:2]") == "spec/a_spec.rb");
}
