// PackBuilds: the packs of one run's snapshot, each built once per set of haves on a thread of
// its own, so the coordinator's loop keeps heartbeating while libgit2 compresses a large tree
// (a cold peer of a big repository would otherwise take the silence for a dead coordinator),
// and so peers that hold the same commits share one build.
//
// Request() from the loop; a Build is done() once, then its result is read-only. Threads are
// detached and own their Build, so a run that ends mid-build does not wait for it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sync/pack.h"

namespace specswarm::node {

class PackBuilds {
 public:
  struct Build {
    std::atomic<bool> finished{false};
    std::optional<Result<sync::PackStream>> result;  // set before `finished`
    bool done() const { return finished.load(std::memory_order_acquire); }
  };

  PackBuilds(std::string repo_path, std::string commit)
      : repo_path_(std::move(repo_path)), commit_(std::move(commit)) {}

  std::shared_ptr<Build> Request(std::vector<std::string> haves);

 private:
  std::string repo_path_, commit_;
  std::map<std::vector<std::string>, std::shared_ptr<Build>> builds_;
};

}  // namespace specswarm::node
