// The tray against real nodes (issue 11): `specswarm tray` on a host of a namespace LAN, asking
// its real `join` (status --json), shows the swarm's idle cores change when a peer's `join`
// starts and when it stops. Offscreen: what the icon draws is pinned by tests/tray; here it is
// the number, read from the tray's own log of each change (-v).
#include <catch2/catch.hpp>

#include <thread>

#include "swarm_lab.h"

using namespace specswarm::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Waits until the tray's log holds `text` after offset `from`; returns the seconds it took.
std::optional<double> WaitForTray(SwarmLab& lab, const std::string& text, size_t from, std::chrono::seconds timeout) {
  const auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (lab.Log("tray.log").find(text, from) != std::string::npos)
      return std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("the tray's number of idle cores follows peers that start and stop", "[swarm][netns][tray]") {
  auto lab = SwarmLab::Create("tray", 3, SleepySuite{.files = 4, .seconds = 0.1});
  REQUIRE(lab);
  REQUIRE(lab->StartJoin(1));
  auto tray = lab->SpawnSpecswarm(1, {"tray", "-v", "--interval", "0.3"}, "tray.log",
                                  {"QT_QPA_PLATFORM=offscreen", "XDG_RUNTIME_DIR=" + lab->net().dir()});
  REQUIRE(tray);
  INFO("the tray's log: " << lab->net().dir() << "/tray.log");
  REQUIRE(WaitForTray(*lab, "view: specswarm: 2 of 2 cores idle on 1 machine · this machine: 0 of 2 busy", 0, 20s));

  size_t seen = lab->Log("tray.log").size();
  REQUIRE(lab->StartJoin(2));
  auto up = WaitForTray(*lab, "view: specswarm: 4 of 4 cores idle on 2 machines", seen, 20s);
  REQUIRE(up);

  seen = lab->Log("tray.log").size();
  REQUIRE(lab->StartJoin(3, {"--slots", "3"}));
  REQUIRE(WaitForTray(*lab, "view: specswarm: 7 of 7 cores idle on 3 machines", seen, 20s));

  seen = lab->Log("tray.log").size();
  REQUIRE(lab->StopJoin(2) == 0);
  auto down = WaitForTray(*lab, "view: specswarm: 5 of 5 cores idle on 2 machines", seen, 20s);
  REQUIRE(down);
  // From the new join's first log line (or its exit) to the tray's change: mDNS, join's
  // directory, then the tray's next status query (every 0.3 s, 1 s for a silent peer).
  WARN("tray followed: a peer's start in " << *up << " s, a stop in " << *down << " s");

  // This machine stops sharing (its join is not the tray's: started by the test): the tray
  // turns grey but still counts the peer it sees over mDNS.
  seen = lab->Log("tray.log").size();
  REQUIRE(lab->StopJoin(1) == 0);
  REQUIRE(WaitForTray(*lab, "view: specswarm: 3 of 3 cores idle on 1 machine · this machine: not sharing", seen, 20s));

  CHECK(tray->Stop(10s) == 0);  // SIGTERM: a clean exit
}
