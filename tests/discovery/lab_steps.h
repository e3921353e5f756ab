// Catch2 steps shared by the namespace scenarios: build a lab (with its daemons) and start a
// node on one of its hosts, failing the test case with the lab's log folder when they cannot.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "lab_node.h"
#include "netns_lab.h"

namespace specswarm::testing {

inline std::unique_ptr<NetnsLab> MakeLab(const std::string& scenario, int hosts, bool daemons = true) {
  auto lab = NetnsLab::Create(scenario, hosts);
  if (!lab.ok()) FAIL(lab.status().message());
  if (daemons) {
    Status s = (*lab)->StartAllDaemons();
    if (!s.ok()) FAIL(s.message());
  }
  return std::move(*lab);
}

inline LabNode StartNode(NetnsLab& lab, int host, LabNode::Options o) {
  auto node = LabNode::Start(lab, host, o);
  if (!node) FAIL("node did not start on host " << host << " (logs in " << lab.dir() << ")");
  return std::move(*node);
}

}  // namespace specswarm::testing
