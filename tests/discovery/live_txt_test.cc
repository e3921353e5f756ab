// Which of an instance's cached TXT records is current (see src/discovery/live_txt.h).
#include <catch2/catch.hpp>

#include "discovery/live_txt.h"

using specswarm::discovery::LiveTxt;

TEST_CASE("the highest seq among live records is current, whatever the arrival order",
          "[discovery][txt]") {
  LiveTxt txt;
  CHECK(txt.Current() == nullptr);
  txt.Add({"idle=3", "seq=20"});
  txt.Add({"idle=8", "seq=10"});  // a stale record replayed from a cache after the new one
  REQUIRE(txt.Current());
  CHECK(txt.Current()->front() == "idle=3");
  txt.Remove({"idle=3", "seq=20"});
  CHECK(txt.Current()->front() == "idle=8");
  txt.Remove({"idle=8", "seq=10"});
  CHECK(txt.Current() == nullptr);
}

TEST_CASE("records without seq (third-party publishers) rank by arrival", "[discovery][txt]") {
  LiveTxt txt;
  txt.Add({"idle=1"});
  txt.Add({"idle=2"});
  CHECK(txt.Current()->front() == "idle=2");
  txt.Add({"idle=1"});  // seen again: now the newest
  CHECK(txt.Current()->front() == "idle=1");
}
