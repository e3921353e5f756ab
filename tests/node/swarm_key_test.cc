// The swarm key file (node/swarm_key.h), `specswarm key` and the Gatekeeper at the door of a
// node's ROUTER: members are answered, everyone else is told nothing and logged once.
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "node/gatekeeper.h"
#include "node/sockets.h"
#include "node/swarm_key.h"
#include "test_support.h"

namespace specswarm {
namespace {

using node::SwarmKey;
using Clock = std::chrono::steady_clock;

mode_t ModeOf(const std::string& path) {
  struct stat st{};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

testing::CommandResult Key(const testing::TempDir& home, const std::string& args) {
  return testing::RunCommand(std::string(SPECSWARM_BINARY) + " key " + args, home.str(),
                             {{"XDG_CONFIG_HOME", home.str() + "/config"}, {"HOME", home.str()}});
}

TEST_CASE("a key file round-trips and its fingerprint is stable, short and not the key", "[trust]") {
  auto key = node::NewSwarmKey("backend");
  REQUIRE(key.ok());
  auto parsed = node::ParseSwarmKey(node::FormatSwarmKey(*key));
  REQUIRE(parsed.ok());
  CHECK(*parsed == *key);
  const std::string fingerprint = key->Fingerprint();
  CHECK(fingerprint.size() == 24);
  CHECK(fingerprint == parsed->Fingerprint());
  CHECK(node::NewSwarmKey("backend")->Fingerprint() != fingerprint);
  CHECK(key->public_z85.find(fingerprint.substr(0, 4)) == std::string::npos);
}

TEST_CASE("a corrupt key file is refused with the line at fault", "[trust]") {
  const SwarmKey key = *node::NewSwarmKey("t");
  const SwarmKey other = *node::NewSwarmKey("t");
  struct Case { std::string text, reason; };
  for (const Case& c : {Case{"", "no 'public:' line"},
                        Case{"name: t\npublic: " + key.public_z85 + "\n", "no 'secret:' line"},
                        Case{"public: short\nsecret: " + key.secret_z85 + "\n", "line 1: the public key must be 40 Z85"},
                        Case{"public: " + key.public_z85 + "\nsecret: " + other.secret_z85 + "\n", "does not belong"},
                        Case{"public: " + key.public_z85 + "\npublic: " + key.public_z85 + "\n", "line 2: 'public' appears twice"},
                        Case{"# c\n\ncolour: blue\n", "line 3: unknown field 'colour'"},
                        Case{"just words\n", "line 1: expected"},
                        Case{"name: two words\n", "line 1: a swarm name may hold only"}}) {
    INFO(c.text);
    auto parsed = node::ParseSwarmKey(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.status().message(), Catch::Contains(c.reason));
  }
}

TEST_CASE("a saved key is mode 0600 in a 0700 folder, and a different one is kept unless forced", "[trust]") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/config/specswarm/swarm.key";
  const SwarmKey first = *node::NewSwarmKey("a");
  REQUIRE(node::SaveSwarmKey(path, first, false).ok());
  CHECK(ModeOf(path) == 0600);
  CHECK(ModeOf(dir.str() + "/config/specswarm") == 0700);
  CHECK(node::SaveSwarmKey(path, first, false).ok());  // the same key again: nothing to do
  const SwarmKey second = *node::NewSwarmKey("b");
  Status refused = node::SaveSwarmKey(path, second, false);
  CHECK_THAT(refused.message(), Catch::Contains("--force"));
  CHECK(*node::LoadSwarmKey(path).value() == first);
  REQUIRE(node::SaveSwarmKey(path, second, true).ok());
  CHECK(*node::LoadSwarmKey(path).value() == second);
}

TEST_CASE("a key others may read is refused, a missing one is no key, not an error", "[trust]") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/swarm.key";
  auto missing = node::LoadSwarmKey(path);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing.value().has_value());
  REQUIRE(node::SaveSwarmKey(path, *node::NewSwarmKey("a"), false).ok());
  chmod(path.c_str(), 0644);
  auto loose = node::LoadSwarmKey(path);
  REQUIRE_FALSE(loose.ok());
  CHECK_THAT(loose.status().message(), Catch::Contains("mode 0644") && Catch::Contains("chmod 600"));
}

TEST_CASE("specswarm key: new, show and import, one clear line and exit 2 on a problem", "[trust]") {
  testing::TempDir home;
  auto show = Key(home, "show");
  CHECK(show.exit_code == 2);
  CHECK_THAT(show.err, Catch::Contains("no swarm key") && Catch::Contains("specswarm key new"));

  auto made = Key(home, "new --name backend");
  REQUIRE(made.exit_code == 0);
  CHECK_THAT(made.out, Catch::Contains("swarm:       backend") && Catch::Contains("fingerprint: "));
  const std::string path = home.str() + "/config/specswarm/swarm.key";
  CHECK(ModeOf(path) == 0600);
  CHECK(Key(home, "new").exit_code == 2);  // never overwritten without --force
  const std::string original = testing::ReadFile(path);

  // A teammate's file, imported over ours only with --force.
  testing::TempDir mate;
  REQUIRE(Key(mate, "new --name backend").exit_code == 0);
  const std::string mate_file = mate.str() + "/config/specswarm/swarm.key";
  auto refused = Key(home, "import " + mate_file);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("--force"));
  CHECK(testing::ReadFile(path) == original);
  REQUIRE(Key(home, "import --force " + mate_file).exit_code == 0);
  CHECK(testing::ReadFile(path) == testing::ReadFile(mate_file));
  const auto fingerprint_line = [](const std::string& out) { return out.substr(out.find("fingerprint:"), 37); };
  CHECK(fingerprint_line(Key(home, "show").out) == fingerprint_line(Key(mate, "show").out));

  // A corrupt file to import: refused in one line, ours untouched.
  testing::WriteFile(home.str() + "/bad.key", "public: nope\n");
  auto bad = Key(home, "import bad.key");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad.key is not a swarm key: line 1"));
  CHECK(bad.err.find('\n') == bad.err.size() - 1);
  CHECK(testing::ReadFile(path) == testing::ReadFile(mate_file));

  // Our own file corrupted: show says which file, what is wrong, and what to do.
  testing::WriteFile(path, "public: nope\n");
  chmod(path.c_str(), 0600);
  auto corrupt = Key(home, "show");
  CHECK(corrupt.exit_code == 2);
  CHECK_THAT(corrupt.err, Catch::Contains(path + " is corrupt, line 1") && Catch::Contains("key import"));
}

// A node's door on loopback: a ROUTER with the key and a Gatekeeper serving it on this thread.
struct Door {
  explicit Door(const SwarmKey& key) {
    auto opened = node::Gatekeeper::Open(context, key);
    REQUIRE(opened.ok());
    gate = std::move(*opened);
    auto bound = node::BindServer(context, 0, &key);
    REQUIRE(bound.ok());
    router.emplace(std::move(*bound));
    REQUIRE(gate->Watch(*router).ok());
    port = node::BoundPort(*router);
  }
  // Serves the door for `duration`: answers status queries, collects the log lines.
  void Serve(std::chrono::milliseconds duration) {
    const auto until = Clock::now() + duration;
    while (Clock::now() < until) {
      std::vector<zmq_pollitem_t> items{{router->handle(), 0, ZMQ_POLLIN, 0}};
      gate->AppendPollItems(&items);
      zmq_poll(items.data(), static_cast<int>(items.size()), 20);
      for (auto& line : gate->Service()) log.push_back(line);
      while (auto received = node::ReceiveFrom(*router)) {
        if (received->message.ok()) node::SendTo(*router, received->routing_id, node::StatusReplyMsg{"{}"});
      }
    }
  }
  zmq::context_t context{1};
  std::unique_ptr<node::Gatekeeper> gate;  // outlives the router
  std::optional<zmq::socket_t> router;
  int port = 0;
  std::vector<std::string> log;
};

// Asks the door for its status from a client holding `key` (nullptr: plain text), serving it
// until the answer comes or `patience` has passed.
bool Answered(Door& door, const SwarmKey* key, std::chrono::milliseconds patience = std::chrono::milliseconds(1000)) {
  zmq::context_t context(1);
  auto client = node::ConnectClient(context, node::TcpEndpoint("127.0.0.1", door.port), key);
  REQUIRE(client.ok());
  node::Send(*client, node::StatusQueryMsg{});
  const auto until = Clock::now() + patience;
  while (Clock::now() < until) {
    door.Serve(std::chrono::milliseconds(50));
    if (node::Receive(*client)) return true;
  }
  return false;
}

constexpr auto kMemberPatience = std::chrono::seconds(10);  // a loaded machine; returns at once

TEST_CASE("the gatekeeper answers members and tells anyone else nothing, logging the refusal once", "[trust]") {
  const SwarmKey ours = *node::NewSwarmKey("ours");
  const SwarmKey theirs = *node::NewSwarmKey("theirs");
  Door door(ours);
  CHECK(Answered(door, &ours, kMemberPatience));
  CHECK(door.log.empty());
  CHECK_FALSE(Answered(door, &theirs));
  CHECK_FALSE(Answered(door, nullptr));
  CHECK_FALSE(Answered(door, &theirs));
  // Every refused client retried many times; one line said so.
  CHECK(door.gate->refused() >= 3);
  REQUIRE(door.log.size() == 1);
  CHECK_THAT(door.log[0], Catch::Contains("refused a connection") && Catch::Contains("this swarm's key"));
  CHECK(Answered(door, &ours, kMemberPatience));  // and members are still served
}

TEST_CASE("a client that knows the swarm's public key but not its secret is denied by ZAP", "[trust]") {
  const SwarmKey ours = *node::NewSwarmKey("ours");
  SwarmKey impostor = *node::NewSwarmKey("impostor");
  Door door(ours);
  // It can complete CURVE with the server (it knows the server's public key) but presents its
  // own keypair: only ZAP stands between it and the node.
  zmq::context_t context(1);
  zmq::socket_t client(context, zmq::socket_type::dealer);
  client.set(zmq::sockopt::linger, 0);
  client.set(zmq::sockopt::curve_serverkey, ours.public_z85);
  client.set(zmq::sockopt::curve_publickey, impostor.public_z85);
  client.set(zmq::sockopt::curve_secretkey, impostor.secret_z85);
  client.connect(node::TcpEndpoint("127.0.0.1", door.port));
  node::Send(client, node::StatusQueryMsg{});
  for (int i = 0; i < 100 && door.log.empty(); ++i) door.Serve(std::chrono::milliseconds(50));
  door.Serve(std::chrono::milliseconds(300));
  CHECK_FALSE(node::Receive(client).has_value());
  REQUIRE(door.log.size() == 1);
  CHECK_THAT(door.log[0], Catch::Contains("refused a connection from 127.0.0.1"));
}

}  // namespace
}  // namespace specswarm
