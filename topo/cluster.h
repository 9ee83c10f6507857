// A cluster (proteus.cluster/1): node groups, each with a GPU type and an NCCL topology, joined by a
// fabric. Loaded into one link graph over which paths, collectives and flows are computed.
//
// This header is the contract the simulator uses; topo/ owns the details (see topo/README.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "topo/collective.h"
#include "topo/ids.h"
#include "topo/link_graph.h"

namespace proteus {

class CostDb;

struct Fabric {
  std::string kind = "rail-optimized";  // "rail-optimized" or "fat-tree"
  std::string transport = "rdma";       // "rdma" or "tcp"
  double nic_bw = 0;                    // bytes/s per NIC, per direction
  double latency_s = 0;                 // one hop NIC -> switch -> NIC
  double oversubscription = 1.0;        // >= 1; fat-tree uplink oversubscription
};

struct NodeGroup {
  std::string name;
  int count = 0;                        // nodes in this group
  std::string gpu_type;                 // a name of data/gpus/<gpu_type>.json, e.g. "H100-SXM5-80GB"
  std::string topology;                 // NCCL topology XML file the node was described with
  int gpus_per_node = 0;
  std::string database;                 // optional per-group cost database name
};

struct Cluster {
  std::string name;
  std::string source_file;              // the file it was loaded from (for messages)
  std::vector<NodeGroup> groups;
  Fabric fabric;
  LinkGraph graph;                      // all nodes and the fabric
  std::vector<GpuId> gpu_vertex;        // GpuId -> vertex of `graph`
  std::vector<int> gpu_node;            // GpuId -> node index (0..num_nodes-1)
  std::vector<int> gpu_group;           // GpuId -> index into groups

  int NumGpus() const { return static_cast<int>(gpu_node.size()); }
  int NumNodes() const;
  const NodeGroup& GroupOf(GpuId g) const { return groups[gpu_group[g]]; }
};

/// Loads a cluster file. Topology paths resolve against the cluster file's folder, then data/topos/.
/// UserError naming the file and field on any problem.
Cluster LoadCluster(const std::string& path);

/// A homogeneous cluster without a file: `nodes` copies of a shipped topology (name as in
/// data/topos/, e.g. "dgx-h100") joined by a rail-optimized fabric of `nic_gbps` Gb/s per NIC.
Cluster MakeHomogeneousCluster(const std::string& topology_name, int nodes, double nic_gbps);

/// The collective model NCCL would follow on this cluster; measured curves in `db` (may be null)
/// take precedence where they match the group shape.
std::unique_ptr<CollectiveModel> MakeCollectiveModel(const Cluster& cluster, const CostDb* db);

}  // namespace proteus
