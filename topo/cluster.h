// A cluster (proteus.cluster/1): node groups, each with a GPU type and an NCCL topology, joined by a
// fabric. Loaded into one link graph over which paths, collectives and flows are computed.
//
// This header is the contract the simulator uses; topo/ owns the details (see topo/README.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "topo/node_topology.h"
#include "topo/paths.h"
#include "topo/collective.h"
#include "topo/ids.h"
#include "topo/cluster_graph.h"
#include "topo/link_graph.h"

namespace proteus {

class CostDb;

struct Fabric {
  std::string kind = "rail-optimized";  // "rail-optimized" or "fat-tree"
  std::string transport = "rdma";       // "rdma" or "tcp"
  double nic_bw = 0;                    // bytes/s per NIC, per direction
  double latency_s = 0;                 // one hop NIC -> switch -> NIC
  double oversubscription = 1.0;        // >= 1; fat-tree uplink oversubscription
  // Added by topo/ (beyond the first contract):
  bool collnet = false;                 // in-network reduction (SHARP) offered: enables CollNet
  int nodes_per_leaf = 32;              // fat-tree: nodes under one leaf switch
  int nics_per_node = 0;                // NICs used per node (0 = every NIC of the topology)
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
  ClusterGraph graph;                   // all nodes and the fabric (node links not copied per node)
  std::vector<GpuId> gpu_vertex;        // GpuId -> vertex of `graph`
  std::vector<int> gpu_node;            // GpuId -> node index (0..num_nodes-1)
  std::vector<int> gpu_group;           // GpuId -> index into groups

  int NumGpus() const { return static_cast<int>(gpu_node.size()); }
  int NumNodes() const;
  const NodeGroup& GroupOf(GpuId g) const { return groups[gpu_group[g]]; }

  // Layout of `graph` (added by topo/; read-only for others). Node n's vertices and links are its
  // group's topology's: global id = base + local id.
  std::vector<std::shared_ptr<const NodeTopology>> group_topology;  // per group
  std::vector<std::shared_ptr<const NodePaths>> group_paths;        // per group
  std::vector<int> node_group;                // node -> group
  std::vector<GpuId> node_first_gpu;          // node -> its first GpuId
  std::vector<NodeId> node_vertex_base;       // node -> first vertex of its copy
  std::vector<LinkId> node_link_base;         // node -> first link of its copy
  std::vector<std::vector<LinkId>> nic_uplink;  // node -> per NIC: NIC -> fabric link (reverse = id + 1)
  std::vector<LinkId> fabric_up, fabric_down;   // per leaf/rail switch: its link to and from the core

  int LocalIndex(GpuId g) const { return g - node_first_gpu[gpu_node[g]]; }
  const NodeTopology& TopologyOf(int node) const { return *group_topology[node_group[node]]; }
  const NodePaths& PathsOf(int node) const { return *group_paths[node_group[node]]; }
  /// Global link ids of a path inside `node` (a Path of PathsOf(node)).
  std::vector<LinkId> GlobalLinks(int node, const std::vector<LinkId>& local) const;
  /// The fabric route from NIC `nic_a` of node a to NIC `nic_b` of node b (NIC uplink, switches,
  /// NIC downlink).
  std::vector<LinkId> FabricRoute(int node_a, int nic_a, int node_b, int nic_b) const;
  /// Links from GPU g to fabric-facing NIC `nic` of its node and on through the fabric to NIC `nic2`
  /// of GPU h's node, then to h: the route of one inter-node transfer.
  std::vector<LinkId> NetRoute(GpuId g, int nic, GpuId h, int nic2) const;
  /// Links of the route between two GPUs: intra-node path, or via each GPU's local NIC.
  std::vector<LinkId> Route(GpuId g, GpuId h) const;
  /// Leaf (fat-tree) or rail switch index a NIC hangs off.
  int SwitchOf(int node, int nic) const;
  int NumSwitches() const { return static_cast<int>(fabric_up.size()); }
  int NicsPerNode(int node) const { return static_cast<int>(nic_uplink[node].size()); }
};

/// Loads a cluster file. Topology paths resolve against the cluster file's folder, then data/topos/.
/// UserError naming the file and field on any problem.
Cluster LoadCluster(const std::string& path);

/// A homogeneous cluster without a file: `nodes` copies of a shipped topology (name as in
/// data/topos/, e.g. "dgx-h100") joined by a rail-optimized fabric of `nic_gbps` Gb/s per NIC
/// (0 = the NIC speed the topology XML gives). LoadCluster("<topology>-<nodes>") builds the same.
Cluster MakeHomogeneousCluster(const std::string& topology_name, int nodes, double nic_gbps);

/// The first `nodes` nodes of group `group` of `cluster` as a cluster of their own: the same node
/// topology, GPU type, database name and fabric (what prices one GPU type of a mixed cluster on
/// its own nodes). CHECK-fails unless 0 < nodes <= the group's count.
Cluster SubCluster(const Cluster& cluster, int group, int nodes);

/// The collective model NCCL would follow on this cluster; measured curves in `db` (may be null)
/// take precedence where they match the group shape. The model refers to `cluster` and `db`: both
/// must outlive it. Options (NCCL version, forced algorithm): the overload in topo/measured_model.h.
std::unique_ptr<CollectiveModel> MakeCollectiveModel(const Cluster& cluster, const CostDb* db);

}  // namespace proteus
