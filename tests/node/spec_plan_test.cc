#include <algorithm>
#include <catch2/catch.hpp>

#include "node/spec_plan.h"

using namespace specswarm::node;

namespace {

SpecFile File(const std::string& path, std::uintmax_t size, const std::string& hash = "h") {
  return SpecFile{path, size, hash, {}};
}

std::vector<std::string> Order(const std::vector<SpecUnit>& units) {
  std::vector<std::string> out;
  for (const auto& u : units) out.push_back(u.file + (u.ids.empty() ? "" : "*"));
  return out;
}

// A history where spec/big_spec.rb has two top-level groups; the first has three subgroups,
// the second shares before(:all) state across its three examples.
TimingHistory BigFileHistory(const std::string& hash = "h") {
  TimingHistory h;
  h.SetFile("spec/big_spec.rb", FileTiming{12.2, hash});
  h.SetExample("./spec/big_spec.rb[1:1:1]", 2);
  h.SetExample("./spec/big_spec.rb[1:1:2]", 1);
  h.SetExample("./spec/big_spec.rb[1:2:1]", 3);
  h.SetExample("./spec/big_spec.rb[1:3:1]", 3);
  h.SetExample("./spec/big_spec.rb[2:1]", 1);
  h.SetExample("./spec/big_spec.rb[2:2]", 1);
  h.SetExample("./spec/big_spec.rb[2:3]", 1);
  h.AddContextGroup("./spec/big_spec.rb[2]");
  for (int i = 0; i < 8; ++i) h.SetFile("spec/small" + std::to_string(i) + "_spec.rb", FileTiming{1, "h"});
  return h;
}

std::vector<SpecFile> BigAndSmallFiles() {
  std::vector<SpecFile> files = {File("spec/big_spec.rb", 100)};
  for (int i = 0; i < 8; ++i) files.push_back(File("spec/small" + std::to_string(i) + "_spec.rb", 100));
  return files;
}

bool Under(const std::string& example, const std::string& id) {
  return example == id || example.rfind(id.substr(0, id.size() - 1) + ":", 0) == 0;
}

// Whether a piece of a split file runs `example`: it is under one of the piece's ids, or, for
// the piece that takes the rest of the file, under none of the other pieces' ids.
bool Covers(const SpecUnit& unit, const std::string& example) {
  auto under_any = [&](const std::vector<std::string>& ids) {
    return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) { return Under(example, id); });
  };
  return unit.ids.empty() ? !under_any(unit.except_ids) : under_any(unit.ids);
}

}  // namespace

TEST_CASE("units are ordered longest first by the timing history") {
  TimingHistory history;
  history.SetFile("spec/a_spec.rb", FileTiming{1.0, "h"});
  history.SetFile("spec/b_spec.rb", FileTiming{5.0, "h"});
  history.SetFile("spec/c_spec.rb", FileTiming{3.0, "h"});
  auto units = PlanUnits({File("spec/a_spec.rb", 10), File("spec/b_spec.rb", 10), File("spec/c_spec.rb", 10)},
                         history, PlanOptions{1});
  CHECK(Order(units) == std::vector<std::string>{"spec/b_spec.rb", "spec/c_spec.rb", "spec/a_spec.rb"});
  CHECK(units[0].id == 1);
  CHECK(units[2].id == 3);
}

TEST_CASE("files never timed are ordered by size, and placed by the seconds per byte of known files") {
  TimingHistory history;
  history.SetFile("spec/known_spec.rb", FileTiming{2.0, "h"});  // 1000 bytes: 2 ms per byte
  auto units = PlanUnits({File("spec/known_spec.rb", 1000), File("spec/huge_spec.rb", 5000),
                          File("spec/tiny_spec.rb", 100)},
                         history, PlanOptions{1});
  CHECK(Order(units) == std::vector<std::string>{"spec/huge_spec.rb", "spec/known_spec.rb", "spec/tiny_spec.rb"});
  CHECK(units[0].estimate == Approx(10.0));
}

TEST_CASE("with no history at all, bigger files go first") {
  auto units = PlanUnits({File("spec/a_spec.rb", 10), File("spec/b_spec.rb", 300), File("spec/c_spec.rb", 20)},
                         TimingHistory(), PlanOptions{4});
  CHECK(Order(units) == std::vector<std::string>{"spec/b_spec.rb", "spec/c_spec.rb", "spec/a_spec.rb"});
}

TEST_CASE("a file longer than its fair share is split into groups, before(:all) groups kept whole") {
  // total 20.2 s on 4 slots: fair share 5.05 s; the big file (12.2 s) is split.
  auto units = PlanUnits(BigAndSmallFiles(), BigFileHistory(), PlanOptions{4});
  std::vector<SpecUnit> big_parts;
  for (const auto& u : units) {
    if (u.file == "spec/big_spec.rb") big_parts.push_back(u);
  }
  REQUIRE(big_parts.size() > 1);
  // The before(:all) group [2] runs in one unit, never its examples apart.
  for (const auto& part : big_parts) {
    CHECK(Covers(part, "./spec/big_spec.rb[2:1]") == Covers(part, "./spec/big_spec.rb[2:2]"));
    CHECK(Covers(part, "./spec/big_spec.rb[2:1]") == Covers(part, "./spec/big_spec.rb[2:3]"));
    for (const auto& id : part.ids) CHECK(id.rfind("./spec/big_spec.rb[2:", 0) != 0);
  }
  // Every example of the file is covered by exactly one part, and so is one the history
  // never saw (a run filtered by .rspec recorded it): exactly one part takes the rest.
  auto examples = BigFileHistory().ExamplesOf("spec/big_spec.rb");
  std::vector<std::string> ids;
  for (const auto& [example, seconds] : examples) ids.push_back(example);
  ids.push_back("./spec/big_spec.rb[3:1]");
  for (const auto& example : ids) {
    INFO(example);
    CHECK(std::count_if(big_parts.begin(), big_parts.end(), [&](const SpecUnit& u) { return Covers(u, example); }) == 1);
  }
  CHECK(std::count_if(big_parts.begin(), big_parts.end(), [](const SpecUnit& u) { return !u.except_ids.empty(); }) == 1);
  // Still longest first, across files and parts.
  for (size_t i = 1; i < units.size(); ++i) CHECK(units[i - 1].estimate >= units[i].estimate);
}

TEST_CASE("a file changed since it was timed is not split: its ids may have moved") {
  auto files = BigAndSmallFiles();
  files[0].content_hash = "edited";
  auto units = PlanUnits(files, BigFileHistory("h"), PlanOptions{4});
  CHECK(std::count_if(units.begin(), units.end(), [](const SpecUnit& u) { return u.file == "spec/big_spec.rb"; }) == 1);
  CHECK(units[0].file == "spec/big_spec.rb");
  CHECK(units[0].ids.empty());
}

TEST_CASE("one slot never splits, and neither does a file within its share") {
  CHECK(PlanUnits(BigAndSmallFiles(), BigFileHistory(), PlanOptions{1}).size() == 9);
  TimingHistory history = BigFileHistory();
  history.SetFile("spec/big_spec.rb", FileTiming{1.0, "h"});
  CHECK(PlanUnits(BigAndSmallFiles(), history, PlanOptions{4}).size() == 9);
}

TEST_CASE("files with line filters from the command line run as given, unsplit") {
  auto files = BigAndSmallFiles();
  files[0].targets = {"spec/big_spec.rb:12"};
  auto units = PlanUnits(files, BigFileHistory(), PlanOptions{4});
  REQUIRE(units[0].file == "spec/big_spec.rb");
  CHECK(units[0].ids == std::vector<std::string>{"spec/big_spec.rb:12"});
  CHECK(units.size() == 9);
}

TEST_CASE("a file with one top-level describe is split inside it") {
  TimingHistory history;
  history.SetFile("spec/one_spec.rb", FileTiming{8, "h"});
  for (int i = 1; i <= 4; ++i) history.SetExample("./spec/one_spec.rb[1:" + std::to_string(i) + ":1]", 2);
  history.SetFile("spec/other_spec.rb", FileTiming{8, "h"});
  auto units = PlanUnits({File("spec/one_spec.rb", 10), File("spec/other_spec.rb", 10)}, history, PlanOptions{4});
  int parts = 0;
  for (const auto& u : units) {
    if (u.file != "spec/one_spec.rb") continue;
    ++parts;
    if (u.ids.empty()) {
      CHECK(u.except_ids.size() == 3);  // the rest of the file: what the other three do not take
      continue;
    }
    REQUIRE(u.ids.size() == 1);
    CHECK(u.ids[0].rfind("./spec/one_spec.rb[1:", 0) == 0);
  }
  CHECK(parts == 4);
}
