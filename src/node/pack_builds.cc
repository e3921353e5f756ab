#include "node/pack_builds.h"

#include <algorithm>
#include <thread>

namespace specswarm::node {

std::shared_ptr<PackBuilds::Build> PackBuilds::Request(std::vector<std::string> haves) {
  std::sort(haves.begin(), haves.end());
  auto& build = builds_[haves];
  if (build) return build;
  build = std::make_shared<Build>();
  std::thread([build, repo = repo_path_, commit = commit_, haves] {
    build->result.emplace(sync::PackStream::Build(repo, commit, haves));
    build->finished.store(true, std::memory_order_release);
  }).detach();
  return build;
}

}  // namespace specswarm::node
