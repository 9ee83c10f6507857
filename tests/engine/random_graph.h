// Random small execution graphs (seeded) for property tests. Tasks and comms are created in one
// global sequence and depend only on earlier ones, and comms are appended to every member's stream in
// that sequence, so the graph never deadlocks.
#pragma once

#include <algorithm>
#include <random>

#include "tests/engine/test_graph.h"

namespace proteus::testing {

inline TestGraph RandomGraph(uint32_t seed, int units = 40) {
  std::mt19937 rng(seed);
  auto uniform = [&rng](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  int gpus = 2 + static_cast<int>(rng() % 3);
  int links = 2 + static_cast<int>(rng() % 4);
  std::vector<double> caps;
  for (int l = 0; l < links; ++l) caps.push_back(uniform(50, 200));
  TestGraph t(gpus, caps);
  std::vector<TaskId> earlier;
  const StreamKind comm_streams[] = {StreamKind::kTpComm, StreamKind::kDpComm, StreamKind::kPpComm};
  auto some_deps = [&]() {
    std::vector<TaskId> deps;
    if (!earlier.empty() && rng() % 2) deps.push_back(earlier[rng() % earlier.size()]);
    return deps;
  };
  for (int u = 0; u < units; ++u) {
    if (rng() % 3 != 0) {
      StreamKind s = rng() % 4 == 0 ? StreamKind::kCopy : StreamKind::kCompute;
      std::string cls = rng() % 2 ? "gemm" : "attention";
      earlier.push_back(t.Compute(static_cast<int>(rng() % gpus), uniform(0, 2), some_deps(), "", s, {}, cls));
      continue;
    }
    std::vector<int> members;
    for (int g = 0; g < gpus; ++g) {
      if (rng() % 2) members.push_back(g);
    }
    if (members.empty()) members.push_back(static_cast<int>(rng() % gpus));
    std::vector<FlowSpec> flows;
    int num_flows = static_cast<int>(rng() % 3);  // 0..2
    double latency = uniform(0, 0.1);
    double time = latency;
    for (int f = 0; f < num_flows; ++f) {
      std::vector<LinkId> route;
      int hops = 1 + static_cast<int>(rng() % 2);
      for (int h = 0; h < hops; ++h) route.push_back(static_cast<LinkId>(rng() % links));
      double bytes = uniform(10, 200);
      double max_rate = rng() % 2 ? uniform(20, 150) : 0;  // 0: uncapped
      flows.push_back(Flow(route, bytes, max_rate));
      if (max_rate > 0) time = std::max(time, latency + bytes / max_rate);
    }
    if (num_flows == 0) time = latency + uniform(0, 1);
    std::vector<std::vector<TaskId>> deps;
    for (size_t m = 0; m < members.size(); ++m) deps.push_back(some_deps());
    CollOp op = rng() % 2 ? CollOp::kAllReduce : CollOp::kAllGather;
    CommId c = t.AddComm(op, comm_streams[rng() % 3], members, latency, time, flows, deps);
    for (TaskId m : t.graph.comms[c].members) earlier.push_back(m);
  }
  return t;
}

}  // namespace proteus::testing
