// The tray rendered offscreen from a status document given on the command line (`specswarm tray
// --status FILE --render DIR`, the real binaries, Qt's offscreen platform): the tooltip and the
// menu as the person reads them, and the icon's pixels: its colour says whether this machine
// shares, and the swarm's idle count is drawn on it.
#include <catch2/catch.hpp>

#include <QColor>
#include <QImage>

#include "test_support.h"
#include "tray/tray_icon.h"

using namespace specswarm;
using namespace specswarm::tray;

namespace {

struct Render {
  testing::CommandResult result;
  std::string tooltip, menu;
  QImage icon64, icon22;
};

Render RenderFixture(const testing::TempDir& dir, const std::string& fixture) {
  const std::string out = dir.str() + "/" + fixture;
  Render r;
  r.result = testing::RunCommand(std::string(SPECSWARM_BINARY) + " tray --status " + SPECSWARM_TRAY_FIXTURES + "/" +
                                     fixture + ".json --render " + out,
                                 dir.str(), {{"QT_QPA_PLATFORM", "offscreen"}, {"XDG_RUNTIME_DIR", dir.str()}});
  if (r.result.exit_code != 0) return r;
  r.tooltip = testing::ReadFile(out + "/tooltip.txt");
  r.menu = testing::ReadFile(out + "/menu.txt");
  r.icon64.load(QString::fromStdString(out + "/icon-64.png"));
  r.icon22.load(QString::fromStdString(out + "/icon-22.png"));
  return r;
}

bool Near(QColor a, QColor b) {
  return std::abs(a.red() - b.red()) < 24 && std::abs(a.green() - b.green()) < 24 && std::abs(a.blue() - b.blue()) < 24;
}

// Shares of the icon's pixels near each colour of interest (fully covered pixels only).
struct Palette {
  double green = 0, grey = 0, red = 0, white = 0;
};
Palette Read(const QImage& image) {
  Palette p;
  const double n = image.width() * image.height();
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      QColor c = image.pixelColor(x, y);
      if (c.alpha() < 250) continue;
      p.green += Near(c, kSharingGreen) / n;
      p.grey += Near(c, kIdleGrey) / n;
      p.red += Near(c, kNoSwarmRed) / n;
      p.white += Near(c, Qt::white) / n;
    }
  return p;
}

}  // namespace

TEST_CASE("a sharing machine's tray: green icon with the idle count, tooltip and menu from the status") {
  testing::TempDir dir;
  Render r = RenderFixture(dir, "three_machines");
  INFO(r.result.err);
  REQUIRE(r.result.exit_code == 0);
  CHECK(r.tooltip == "specswarm: 12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy\n");
  CHECK(r.menu ==
        "12 of 24 cores idle on 3 machines · this machine: 2 of 8 busy\n"
        "---\n"
        "ws12 (this machine): 2 busy, 6 idle · serving build-07\n"
        "ws14: 4 busy, 4 idle · serving build-07\n"
        "build-07: 6 busy, 2 idle · serving build-07\n"
        "10.0.0.30: no answer\n"
        "---\n"
        "run from build-07 at 9d2c1a0b3e: running, 65 files done, 12 slots on 3 machines\n"
        "---\n"
        "[x] Share this machine's idle cores\n"
        "---\n"
        "Quit\n");
  REQUIRE(r.icon64.width() == 64);
  REQUIRE(r.icon22.width() == 22);
  for (const QImage& icon : {r.icon64, r.icon22}) {
    Palette p = Read(icon);
    CHECK(p.green > 0.45);  // the square is green
    CHECK(p.grey == 0);
    CHECK(p.red == 0);
    CHECK(p.white > 0.04);  // and "12" is written on it
  }
}

TEST_CASE("a machine that does not share: grey icon, still with the swarm's idle count") {
  testing::TempDir dir;
  Render r = RenderFixture(dir, "not_sharing");
  INFO(r.result.err);
  REQUIRE(r.result.exit_code == 0);
  CHECK(r.tooltip == "specswarm: 5 of 8 cores idle on 1 machine · this machine: not sharing\n");
  CHECK(r.menu.find("[ ] Share this machine's idle cores\n") != std::string::npos);
  Palette p = Read(r.icon64);
  CHECK(p.grey > 0.45);
  CHECK(p.green == 0);
  CHECK(p.white > 0.04);
}

TEST_CASE("no swarm reachable: a grey icon crossed in red, no number, and the reason in the menu") {
  testing::TempDir dir;
  Render r = RenderFixture(dir, "no_key");
  INFO(r.result.err);
  REQUIRE(r.result.exit_code == 0);
  CHECK(r.menu.find("no swarm key at /home/ann/.config/specswarm/swarm.key") != std::string::npos);
  Palette p = Read(r.icon64);
  CHECK(p.grey > 0.3);
  CHECK(p.red > 0.05);
  CHECK(p.white == 0);
}

TEST_CASE("the number on the icon is the idle count: different counts draw different pixels") {
  testing::TempDir dir;
  Render twelve = RenderFixture(dir, "three_machines");
  std::string other = testing::ReadFile(std::string(SPECSWARM_TRAY_FIXTURES) + "/three_machines.json");
  // ws14 now idles 7 of 8: the swarm's idle count becomes 15.
  auto at = other.find("\"busy\": 4, \"idle\": 4");
  REQUIRE(at != std::string::npos);
  other.replace(at, 20, "\"busy\": 1, \"idle\": 7");
  testing::WriteFile(dir.path() / "fifteen.json", other);
  auto result = testing::RunCommand(std::string(SPECSWARM_BINARY) + " tray --status fifteen.json --render fifteen", dir.str(),
                                    {{"QT_QPA_PLATFORM", "offscreen"}, {"XDG_RUNTIME_DIR", dir.str()}});
  REQUIRE(result.exit_code == 0);
  QImage fifteen(QString::fromStdString(dir.str() + "/fifteen/icon-64.png"));
  CHECK(testing::ReadFile(dir.path() / "fifteen/tooltip.txt").rfind("specswarm: 15 of 24 cores idle", 0) == 0);
  REQUIRE(fifteen.size() == twelve.icon64.size());
  CHECK(fifteen != twelve.icon64);
  CHECK(Read(fifteen).green > 0.45);
}

TEST_CASE("bad tray arguments and documents get one line and exit 2") {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "junk.json", "{\"nodes\": 3}");
  const std::string bin = SPECSWARM_BINARY;
  const std::map<std::string, std::string> env{{"QT_QPA_PLATFORM", "offscreen"}, {"XDG_RUNTIME_DIR", dir.str()}};
  for (const std::string& args : {std::string("--render out"), std::string("--status missing.json --render out"),
                                  std::string("--status junk.json --render out"), std::string("--interval -1"),
                                  std::string("--no-such-flag")}) {
    INFO(args);
    auto result = testing::RunCommand(bin + " tray " + args, dir.str(), env);
    CHECK(result.exit_code == 2);
    CHECK(result.err.rfind("specswarm tray: ", 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
}
