// `specswarm snapshot [DIR]` as a user runs it: the id on stdout, exit 0; outside a repository
// one clear line on stderr and exit 2.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include "sync_test_util.h"

using namespace specswarm::sync::testing;

namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome RunSpecswarm(const std::string& args, const TempDir& scratch) {
  const std::string out = scratch / "out", err = scratch / "err";
  const int status = std::system((std::string("'") + SPECSWARM_BINARY + "' " + args + " >'" + out +
                                  "' 2>'" + err + "'").c_str());
  return {WEXITSTATUS(status), ReadFile(out), ReadFile(err)};
}

}  // namespace

TEST_CASE("specswarm snapshot prints HEAD for a clean tree and a new id for a dirty one",
          "[sync][snapshot][cli]") {
  GitRepo repo;
  TempDir scratch;
  repo.Write("lib/app.rb", "class App; end\n");
  const std::string head = repo.Commit();
  Outcome clean = RunSpecswarm("snapshot '" + repo.path() + "'", scratch);
  CHECK(clean.code == 0);
  CHECK(clean.out == head + "\n");

  repo.Write("lib/app.rb", "class App; X = 1; end\n");
  Outcome dirty = RunSpecswarm("snapshot '" + repo.path() + "/lib'", scratch);
  CHECK(dirty.code == 0);
  REQUIRE(dirty.out.size() == 41);
  CHECK(dirty.out != clean.out);
  CHECK(repo.Show(Trim(dirty.out), "lib/app.rb") == "class App; X = 1; end\n");
  CHECK(repo.Git("status --porcelain") == " M lib/app.rb\n");
}

TEST_CASE("specswarm snapshot outside a git repository exits 2 with one line", "[sync][snapshot][cli]") {
  TempDir not_a_repo, scratch;
  Outcome r = RunSpecswarm("snapshot '" + not_a_repo.path() + "'", scratch);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "specswarm: " + not_a_repo.path() + " is not inside a git repository\n");
}
