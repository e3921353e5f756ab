#include "node/spec_plan.h"

#include <algorithm>
#include <map>
#include <memory>
#include <queue>

namespace specswarm::node {
namespace {

// Seconds per byte assumed for files never timed when nothing at all has been timed: only the
// order matters then (bigger files first).
constexpr double kDefaultSecondsPerByte = 1e-5;

// One node of a file's example tree, rebuilt from the ids in the history.
struct Node {
  std::string id;  // "./spec/a_spec.rb[1:2]", or "" for the file itself
  bool example = false;
  bool context_hooks = false;
  double seconds = 0;  // the node's examples, summed
  std::map<int, std::unique_ptr<Node>> children;  // by scoped index, in order
};

std::vector<int> ScopedPath(const std::string& id) {
  std::vector<int> path;
  auto open = id.rfind('['), close = id.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return path;
  std::string inner = id.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= inner.size()) {
    auto colon = inner.find(':', start);
    path.push_back(std::atoi(inner.substr(start, colon - start).c_str()));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return path;
}

std::string IdFor(const std::string& prefix, const std::vector<int>& path) {
  std::string id = prefix;
  for (size_t i = 0; i < path.size(); ++i) id += (i ? ":" : "") + std::to_string(path[i]);
  return id + "]";
}

std::unique_ptr<Node> BuildTree(const std::string& file, const TimingHistory& history) {
  auto root = std::make_unique<Node>();
  const std::string prefix = IdPrefix(file);
  for (const auto& [id, seconds] : history.ExamplesOf(file)) {
    std::vector<int> path = ScopedPath(id);
    Node* node = root.get();
    node->seconds += seconds;
    for (size_t depth = 1; depth <= path.size(); ++depth) {
      std::vector<int> sub(path.begin(), path.begin() + static_cast<long>(depth));
      auto& child = node->children[sub.back()];
      if (!child) {
        child = std::make_unique<Node>();
        child->id = IdFor(prefix, sub);
        child->context_hooks = history.context_groups().count(child->id) > 0;
      }
      node = child.get();
      node->seconds += seconds;
    }
    node->example = true;
  }
  return root;
}

// A candidate unit: some sibling nodes of the tree.
struct Piece {
  std::vector<const Node*> nodes;
  double seconds = 0;
  bool Splittable() const {
    return nodes.size() == 1 && !nodes[0]->example && !nodes[0]->context_hooks &&
           !nodes[0]->children.empty();
  }
};

// Splits one group into pieces: each subgroup alone, and runs of its own examples together,
// cut where a run would exceed `target`.
std::vector<Piece> SplitNode(const Node& node, double target) {
  std::vector<Piece> pieces;
  Piece run;
  auto flush = [&] {
    if (!run.nodes.empty()) pieces.push_back(std::move(run));
    run = Piece();
  };
  for (const auto& [index, child] : node.children) {
    if (!child->example) {
      flush();
      pieces.push_back(Piece{{child.get()}, child->seconds});
      continue;
    }
    if (!run.nodes.empty() && run.seconds + child->seconds > target) flush();
    run.nodes.push_back(child.get());
    run.seconds += child->seconds;
  }
  flush();
  return pieces;
}

std::vector<SpecUnit> SplitFile(const SpecFile& file, double file_seconds,
                                const TimingHistory& history, double target) {
  auto root = BuildTree(file.path, history);
  const double overhead = std::max(0.0, file_seconds - root->seconds);
  auto larger = [](const Piece& a, const Piece& b) { return a.seconds < b.seconds; };
  std::priority_queue<Piece, std::vector<Piece>, decltype(larger)> open(larger);
  std::vector<Piece> done;
  open.push(Piece{{root.get()}, root->seconds});
  while (!open.empty()) {
    Piece piece = open.top();
    open.pop();
    if (piece.seconds + overhead <= target || !piece.Splittable()) {
      done.push_back(std::move(piece));
      continue;
    }
    std::vector<Piece> parts = SplitNode(*piece.nodes[0], target);
    if (parts.size() == 1 && !parts[0].Splittable()) {
      // A group around a single example: splitting it changes nothing.
      done.push_back(std::move(piece));
      continue;
    }
    for (auto& part : parts) open.push(std::move(part));
  }
  if (done.size() <= 1) return {SpecUnit{0, file.path, {}, file_seconds}};
  std::vector<SpecUnit> units;
  for (const auto& piece : done) {
    SpecUnit unit{0, file.path, {}, piece.seconds + overhead, {}};
    for (const Node* node : piece.nodes) unit.ids.push_back(node->id);
    units.push_back(std::move(unit));
  }
  // The history may not know every example (a run filtered by .rspec or SPEC_OPTS recorded
  // it): the smallest piece takes whatever the others do not name, so nothing is left out.
  auto rest = std::min_element(units.begin(), units.end(),
                               [](const SpecUnit& a, const SpecUnit& b) { return a.estimate < b.estimate; });
  for (const auto& unit : units) {
    if (&unit == &*rest) continue;
    rest->except_ids.insert(rest->except_ids.end(), unit.ids.begin(), unit.ids.end());
  }
  rest->ids.clear();
  return units;
}

}  // namespace

std::vector<SpecUnit> PlanUnits(const std::vector<SpecFile>& files, const TimingHistory& history,
                                const PlanOptions& options) {
  double known_seconds = 0, known_bytes = 0;
  for (const auto& file : files) {
    if (auto timing = history.File(file.path)) {
      known_seconds += timing->seconds;
      known_bytes += static_cast<double>(file.size);
    }
  }
  const double per_byte = known_bytes > 0 && known_seconds > 0 ? known_seconds / known_bytes
                                                               : kDefaultSecondsPerByte;
  std::vector<double> estimates;
  double total = 0;
  for (const auto& file : files) {
    auto timing = history.File(file.path);
    estimates.push_back(timing ? timing->seconds : static_cast<double>(file.size) * per_byte);
    total += estimates.back();
  }
  const double share = total / std::max(1, options.slots);
  const double piece_target = std::max(options.piece_size * share, options.min_piece_seconds);
  const double split_threshold = std::max(options.split_above * share, 2 * options.min_piece_seconds);

  std::vector<SpecUnit> units;
  for (size_t i = 0; i < files.size(); ++i) {
    const SpecFile& file = files[i];
    auto timing = history.File(file.path);
    const bool unchanged = timing && !file.content_hash.empty() &&
                           timing->content_hash == file.content_hash;
    if (!file.targets.empty()) {
      units.push_back(SpecUnit{0, file.path, file.targets, estimates[i]});
    } else if (unchanged && options.slots > 1 && estimates[i] > split_threshold) {
      for (auto& unit : SplitFile(file, estimates[i], history, piece_target)) {
        units.push_back(std::move(unit));
      }
    } else {
      units.push_back(SpecUnit{0, file.path, {}, estimates[i]});
    }
  }
  std::stable_sort(units.begin(), units.end(), [](const SpecUnit& a, const SpecUnit& b) {
    return a.estimate > b.estimate;
  });
  for (size_t i = 0; i < units.size(); ++i) units[i].id = static_cast<int>(i + 1);
  return units;
}

}  // namespace specswarm::node
