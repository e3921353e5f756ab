// Writes the seeds whose bytes our own encoders make, from real material (make_corpus.sh passes
// it): wire frames of realistic messages (examples and results parsed from the events of a real
// worker run), TXT records as EncodeTxt makes them, and packs PackStream::Build makes of a real
// git repository.
//
//   fuzz_seeds <corpus dir> <git repo> <worker events file> <status json file>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "discovery/txt_record.h"
#include "exec/worker_event.h"
#include "node/protocol.h"
#include "sync/pack.h"

namespace {

namespace fs = std::filesystem;
using namespace specswarm;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << bytes;
}

// The units of a real worker run, rebuilt from its events as RubyWorker does.
std::vector<exec::UnitResult> UnitsFromEvents(const std::string& path) {
  std::vector<exec::UnitResult> units;
  std::ifstream in(path);
  exec::UnitResult unit;
  for (std::string line; std::getline(in, line);) {
    Result<exec::WorkerEvent> event = exec::ParseWorkerEvent(line);
    if (!event.ok()) continue;
    if (auto* started = std::get_if<exec::StartedEvent>(&*event)) {
      unit = exec::UnitResult();
      unit.unit_id = started->unit;
      unit.slot = 1;
    } else if (auto* group = std::get_if<exec::GroupEvent>(&*event)) {
      unit.outline.push_back(static_cast<int>(unit.groups.size()));
      unit.groups.push_back(group->group);
    } else if (auto* example = std::get_if<exec::ExampleEvent>(&*event)) {
      unit.outline.push_back(~static_cast<int>(unit.examples.size()));
      unit.examples.push_back(example->example);
      unit.examples.back().slot = 1;
      const std::string& path = example->example.file_path;
      unit.file = path.rfind("./", 0) == 0 ? path.substr(2) : path;
    } else if (auto* message = std::get_if<exec::MessageEvent>(&*event)) {
      unit.messages.push_back(message->text);
    } else if (auto* finished = std::get_if<exec::FinishedEvent>(&*event)) {
      unit.errors_outside_examples = finished->errors_outside;
      unit.output = finished->output;
      unit.wall_time = 0.25;
      units.push_back(unit);
    }
  }
  return units;
}

void WireSeeds(const fs::path& dir, const std::string& commit, const sync::PackStream& pack,
               const std::vector<exec::UnitResult>& units, const std::string& status_json) {
  using namespace node;
  const std::string run = "a1b2c3d4e5f60718";
  HelloMsg hello{kProtocolVersion, "3f9c0a1b2c3d4e5f", "ws12", "0.1.0", 2, 2, ""};
  HelloMsg busy = hello;
  busy.idle = 0;
  busy.why_not = "no Ruby on this node (ruby: not found)";
  HelloMsg other = hello;
  other.proto = kProtocolVersion + 1;
  OfferMsg offer;
  offer.run_id = run;
  offer.commit = commit;
  offer.repo_key = "demo-5e1c0f3a";
  offer.coordinator_host = "build-07";
  offer.ruby_version = "3.1.2";
  offer.slots_wanted = 2;
  offer.rspec_args = {"--format", "progress"};
  offer.targets = {"spec"};
  offer.unit_timeout = 900;
  offer.boot_timeout = 600;
  OfferMsg reserve = offer;
  reserve.reserve_only = true;
  const sync::PackInfo& info = pack.info();
  std::string chunk(*pack.Read(0, 512));
  LeaseMsg lease{run, 7, 1, 3, "spec/models/cart_spec.rb", {}, {}};
  LeaseMsg split{run, 8, 2, 4, "spec/services/checkout_spec.rb",
                 {"./spec/services/checkout_spec.rb[1:1]", "./spec/services/checkout_spec.rb[1:2]"}, {}};

  std::vector<std::pair<std::string, Message>> messages = {
      {"hello", hello},
      {"hello_busy", busy},
      {"hello_other_version", other},
      {"offer", offer},
      {"offer_reserve", reserve},
      {"accept", AcceptMsg{run, 2, {commit}}},
      {"decline", DeclineMsg{run, "all 2 slots are busy with run 0f1e2d3c4b5a6978"}},
      {"pack_info", PackInfoMsg{run, info.commit, info.pack_id, info.size, info.objects}},
      {"chunk_request", ChunkRequestMsg{run, info.pack_id, 512}},
      {"pack_chunk", PackChunkMsg{run, info.pack_id, 0, chunk}},
      {"ready", ReadyMsg{run, 2, 1.84}},
      {"failed", FailedMsg{run, "setup hook 'gems' failed with exit status 3: `echo no gems here; exit 3`"}},
      {"take", TakeMsg{run, 2}},
      {"lease", lease},
      {"lease_split", split},
      {"finish", FinishMsg{run}},
      {"done", DoneMsg{run}},
      {"heartbeat", HeartbeatMsg{run, {7, 8}}},
      {"cancel", CancelMsg{run, "interrupted"}},
      {"returned", ReturnedMsg{run, {8}, "the node is shutting down"}},
      {"status_query", StatusQueryMsg{}},
      {"status_reply", StatusReplyMsg{status_json}},
  };
  for (size_t i = 0; i < units.size(); ++i) {
    exec::UnitResult unit = units[i];
    unit.host = "ws12";
    messages.push_back({"result_" + std::to_string(i), ResultMsg{run, static_cast<int>(10 + i), unit}});
    if (!unit.examples.empty()) {
      messages.push_back({"example_" + std::to_string(i), ExampleMsg{run, static_cast<int>(10 + i), unit.examples[0]}});
    }
  }
  if (!units.empty()) {
    exec::UnitResult suite;
    suite.slot = 1;
    suite.messages = {"An error occurred in an `after(:suite)` hook."};
    suite.errors_outside_examples = 1;
    messages.push_back({"suite_result", SuiteResultMsg{run, suite}});
  }
  for (const auto& [name, message] : messages) Write(dir, name, Encode(message));
}

void TxtSeeds(const fs::path& dir) {
  using namespace discovery;
  const std::vector<std::pair<std::string, NodeAdvert>> adverts = {
      {"idle", {1, "3f9c0a1b2c3d4e5f", "0.1.0", 2, 2, ""}},
      {"busy", {1, "0a1b2c3d4e5f6071", "0.1.0", 16, 0, ""}},
      {"with_fingerprint", {1, "3f9c0a1b2c3d4e5f", "0.1.0", 8, 6, "9a3f-07c2-be41-5d08-e6a9"}},
  };
  for (const auto& [name, advert] : adverts) {
    if (Status s = Validate(advert); !s.ok()) {
      std::cerr << "fuzz_seeds: advert " << name << ": " << s.message() << "\n";
      std::exit(1);
    }
    Write(dir, name, EncodeTxtWire(EncodeTxt(advert)));
  }
  Write(dir, "empty", std::string(1, '\0'));  // DNS-SD's empty TXT record
}

// 'R' <commit> <pack>: the pack_receiver target's raw form.
void PackSeeds(const fs::path& dir, const std::string& repo, const std::string& head, const std::string& parent) {
  struct Case { std::string name, commit; std::vector<std::string> haves; };
  for (const Case& c : {Case{"full_head", head, {}}, Case{"full_parent", parent, {}},
                        Case{"thin_head", head, {parent}}, Case{"empty_head", head, {head}}}) {
    Result<sync::PackStream> pack = sync::PackStream::Build(repo, c.commit, c.haves);
    if (!pack.ok()) {
      std::cerr << "fuzz_seeds: " << pack.status().message() << "\n";
      std::exit(1);
    }
    Write(dir, c.name, "R" + c.commit + std::string(*pack->Read(0, pack->info().size)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: fuzz_seeds <corpus dir> <git repo> <worker events file> <status json file>\n";
    return 2;
  }
  const fs::path corpus = argv[1];
  const std::string repo = argv[2];
  auto rev = [&](const std::string& what) {
    std::string out;
    FILE* p = ::popen(("git -C '" + repo + "' rev-parse " + what).c_str(), "r");
    char buf[64];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    if (p) ::pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  const std::string head = rev("HEAD"), parent = rev("HEAD^");
  Result<sync::PackStream> pack = sync::PackStream::Build(repo, head, {});
  if (!pack.ok() || parent.size() != 40) {
    std::cerr << "fuzz_seeds: " << repo << " needs two commits\n";
    return 1;
  }
  WireSeeds(corpus / "wire_message", head, *pack, UnitsFromEvents(argv[3]), ReadFile(argv[4]));
  TxtSeeds(corpus / "txt_record");
  PackSeeds(corpus / "pack_receiver", repo, head, parent);
  return 0;
}
