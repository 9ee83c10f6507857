#include "topo/bandwidth_scale.h"

#include <map>

#include "common/error.h"
#include "topo/paths.h"

namespace proteus {
namespace {

void ScaleGraph(LinkGraph& graph, double factor) {
  for (auto& link : graph.links) link.bandwidth *= factor;
}

}  // namespace

Cluster ScaleBandwidth(const Cluster& cluster, double factor) {
  PROTEUS_CHECK(factor > 0, "bandwidth scale must be positive");
  Cluster c = cluster;
  c.graph.ScaleFabric(factor);
  c.fabric.nic_bw *= factor;
  // Groups that share a topology keep sharing one scaled copy.
  std::map<const NodeTopology*, size_t> done;
  for (size_t g = 0; g < c.group_topology.size(); ++g) {
    const NodeTopology* original = c.group_topology[g].get();
    if (auto it = done.find(original); it != done.end()) {
      c.group_topology[g] = c.group_topology[it->second];
      c.group_paths[g] = c.group_paths[it->second];
      continue;
    }
    auto topo = std::make_shared<NodeTopology>(*original);
    ScaleGraph(topo->graph, factor);
    for (double& s : topo->nic_speed) s *= factor;
    c.group_paths[g] = std::make_shared<const NodePaths>(ComputeNodePaths(*topo));
    c.graph.ReplaceTopology(original, topo);
    c.group_topology[g] = topo;
    done[original] = g;
  }
  return c;
}

}  // namespace proteus
