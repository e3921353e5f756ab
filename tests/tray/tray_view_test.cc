// The SwarmView: what the tray says, from the documents `status --json` and `discover --json`
// print (docs/STATUS.md). No Qt: these run wherever the tests do.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "tray/swarm_view.h"

using namespace specswarm;
using namespace specswarm::tray;

namespace {
std::string Fixture(const std::string& name) { return testing::ReadFile(std::string(SPECSWARM_TRAY_FIXTURES) + "/" + name); }
}  // namespace

TEST_CASE("a sharing machine sees the swarm's idle cores, its own load, each machine and each run") {
  auto view = ViewFromDocument(Fixture("three_machines.json"));
  REQUIRE(view.ok());
  CHECK(view->state == IconState::kSharing);
  CHECK(view->Badge() == "12");
  // ws12 6 + ws14 4 + build-07 2 idle of 3 × 8; the silent seed and the other swarm's box do
  // not count.
  CHECK(view->Tooltip() == "specswarm: 12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy");
  CHECK(view->MachineLines() == std::vector<std::string>{
                                    "ws12 (this machine): 2 busy, 6 idle · serving build-07",
                                    "ws14: 4 busy, 4 idle · serving build-07",
                                    "build-07: 6 busy, 2 idle · serving build-07",
                                    "10.0.0.30: no answer",
                                });
  // One run seen on three nodes is one row, its files and slots summed.
  CHECK(view->RunLines() ==
        std::vector<std::string>{"run from build-07 at 9d2c1a0b3e: running, 65 files done, 12 slots on 3 machines"});
}

TEST_CASE("a machine that does not share sees its peers' idle cores from their mDNS records") {
  auto view = ViewFromDocument(Fixture("not_sharing.json"));
  REQUIRE(view.ok());
  CHECK(view->state == IconState::kNotSharing);
  CHECK(!view->sharing);
  CHECK(view->Badge() == "5");
  CHECK(view->Tooltip() == "specswarm: 5 of 8 cores idle on 1 machine · this machine: not sharing");
  CHECK(view->MachineLines() == std::vector<std::string>{"ws14: 5 of 8 idle"});  // qa-box: another swarm
}

TEST_CASE("with no swarm reachable the icon shows no number and the tooltip says why") {
  auto view = ViewFromDocument(Fixture("no_key.json"));
  REQUIRE(view.ok());
  CHECK(view->state == IconState::kNoSwarm);
  CHECK(view->Badge().empty());
  CHECK(view->Tooltip().rfind("specswarm: no swarm reachable · this machine: not sharing\nno swarm key at ", 0) == 0);

  // No join here and no peer visible: the line status gave is kept.
  auto alone = ViewFromDiscover(nlohmann::json::parse(R"({"peers": [], "unreachable": [], "diagnosis": []})"),
                                "no node of this swarm is running on this machine (port 7070)");
  REQUIRE(alone.ok());
  CHECK(alone->state == IconState::kNoSwarm);
  CHECK(alone->problem == "no node of this swarm is running on this machine (port 7070)");
}

TEST_CASE("a sharing machine alone is a swarm of one, and a busy swarm shows 0") {
  auto view = ViewFromStatus(nlohmann::json::parse(R"({"version": 1, "nodes": [
      {"host": "ws1", "slots": 2, "busy": 2, "idle": 0, "self": true, "reachable": true, "excluded": null,
       "runs": [{"run_id": "r1", "coordinator": "ws9", "slots": 2, "busy": 2, "files_done": 3, "phase": "running"}]}]})"));
  REQUIRE(view.ok());
  CHECK(view->state == IconState::kSharing);
  CHECK(view->Badge() == "0");
  CHECK(view->Tooltip() == "specswarm: 0 of 2 cores idle on 1 machine · this machine: 2 of 2 busy");
  CHECK(view->RunLines() == std::vector<std::string>{"run from ws9: running, 3 files done, 2 slots on 1 machine"});
}

TEST_CASE("a huge swarm's count fits the icon") {
  SwarmView v;
  v.state = IconState::kSharing;
  v.idle = 1234;
  CHECK(v.Badge() == "999+");
}

TEST_CASE("documents that are not status or discover output are refused in one line") {
  for (const char* text : {"", "nope", "[1, 2]", R"({"version": 1})", R"({"nodes": [3]})"}) {
    INFO(text);
    auto view = ViewFromDocument(text);
    REQUIRE_FALSE(view.ok());
    CHECK(view.status().message().find('\n') == std::string::npos);
  }
  // Unknown keys and odd types in known ones are ignored, as docs/STATUS.md asks of readers.
  auto view = ViewFromDocument(R"({"version": 2, "new_field": {}, "nodes": [
      {"host": "ws1", "slots": "eight", "busy": null, "idle": 1, "self": true, "reachable": true, "runs": "none"}]})");
  REQUIRE(view.ok());
  CHECK(view->Tooltip() == "specswarm: 1 of 0 cores idle on 1 machine · this machine: 0 of 0 busy");
}
