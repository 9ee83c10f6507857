#include "topo/cluster.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/suggest.h"
#include "common/units.h"

namespace proteus {
namespace {

constexpr int kClusterMajor = 1;
// Input limits, far above real systems (the largest announced GPU clusters have ~10^5 GPUs, i.e.
// ~12,500 eight-GPU nodes; NICs run at <= 800 Gb/s): they keep the link graph buildable and every
// bandwidth and latency finite.
constexpr int64_t kMaxNodes = 65536;
constexpr double kMaxNicGbps = 1e5, kMaxLatencyUs = 1e6, kMaxOversubscription = 1024;

// Node n's GPUs, and where its vertices and links start in the cluster graph (its group's topology,
// not copied: topo/cluster_graph.h).
void AddNodeIds(Cluster& c, int node, const NodeTopology& topo) {
  c.node_vertex_base.push_back(c.graph.NodeVertexBase(node));
  c.node_link_base.push_back(c.graph.NodeLinkBase(node));
  NodeId vb = c.node_vertex_base.back();
  GpuId first = static_cast<GpuId>(c.gpu_node.size());
  c.node_first_gpu.push_back(first);
  for (int i = 0; i < topo.NumGpus(); ++i) {
    c.gpu_vertex.push_back(vb + topo.gpus[i]);
    c.gpu_node.push_back(node);
    c.gpu_group.push_back(c.node_group[node]);
  }
}

int NumLeaves(const Cluster& c, int max_nics) {
  if (c.fabric.kind == "rail-optimized") return max_nics;
  return (c.NumNodes() + c.fabric.nodes_per_leaf - 1) / c.fabric.nodes_per_leaf;
}

// Switches and cables of the fabric: rail-optimized = one switch per NIC index (rail), fat-tree =
// one leaf per `nodes_per_leaf` nodes; both joined by a core whose uplinks carry the leaf's NIC
// bandwidth divided by the oversubscription.
void AddFabric(Cluster& c, const std::string& where) {
  int max_nics = 0;
  for (int n = 0; n < c.NumNodes(); ++n) {
    int nics = static_cast<int>(c.TopologyOf(n).nics.size());
    if (c.fabric.nics_per_node > 0) nics = std::min(nics, c.fabric.nics_per_node);
    max_nics = std::max(max_nics, nics);
  }
  if (max_nics == 0) {
    if (c.NumNodes() > 1) throw UserError(where, "the node topology has no NIC (<nic><net .../></nic>), so nodes cannot be joined");
    c.nic_uplink.assign(1, {});
    return;
  }
  for (int n = 0; n < c.NumNodes(); ++n)
    if (c.TopologyOf(n).nics.empty())
      throw UserError(where, "node group " + c.groups[c.node_group[n]].name + ": its topology " +
                                 c.TopologyOf(n).source + " has no NIC (<nic><net .../></nic>), so its nodes "
                                 "cannot reach the other groups");
  int leaves = NumLeaves(c, max_nics);
  std::vector<NodeId> leaf(leaves);
  for (int s = 0; s < leaves; ++s)
    leaf[s] = c.graph.AddFabricVertex(VertexKind::kNetSwitch, (c.fabric.kind == "rail-optimized" ? "rail" : "leaf") + std::to_string(s));
  NodeId core = c.graph.AddFabricVertex(VertexKind::kNetSwitch, "core");
  std::vector<double> leaf_bw(leaves, 0);
  c.nic_uplink.assign(c.NumNodes(), {});
  for (int n = 0; n < c.NumNodes(); ++n) {
    const NodeTopology& t = c.TopologyOf(n);
    int nics = static_cast<int>(t.nics.size());
    if (c.fabric.nics_per_node > 0) nics = std::min(nics, c.fabric.nics_per_node);
    for (int k = 0; k < nics; ++k) {
      double bw = c.fabric.nic_bw > 0 ? c.fabric.nic_bw : t.nic_speed[k];
      if (bw <= 0) throw UserError(where, "no NIC bandwidth: set fabric.nic_gbps or the XML <net speed=...>");
      NodeId nic = c.node_vertex_base[n] + t.nics[k];
      int s = c.SwitchOf(n, k);
      c.nic_uplink[n].push_back(c.graph.AddFabricCable(nic, leaf[s], LinkKind::kNet, bw, c.fabric.latency_s / 2));
      leaf_bw[s] += bw;
    }
  }
  for (int s = 0; s < leaves; ++s) {
    double up = std::max(leaf_bw[s], 1.0) / c.fabric.oversubscription;
    LinkId id = c.graph.AddFabricCable(leaf[s], core, LinkKind::kNet, up, 0);
    c.fabric_up.push_back(id);
    c.fabric_down.push_back(id + 1);
  }
}

void BuildGraph(Cluster& c, const std::string& where) {
  std::map<std::string, std::shared_ptr<const NodePaths>> paths_cache;
  for (const auto& topo : c.group_topology) {
    auto it = paths_cache.find(topo->source);
    if (it == paths_cache.end()) it = paths_cache.emplace(topo->source, std::make_shared<NodePaths>(ComputeNodePaths(*topo))).first;
    c.group_paths.push_back(it->second);
  }
  for (size_t g = 0; g < c.groups.size(); ++g)
    for (int i = 0; i < c.groups[g].count; ++i) c.node_group.push_back(static_cast<int>(g));
  for (size_t g = 0; g < c.groups.size(); ++g) c.graph.AddNodes(c.group_topology[g], c.groups[g].count);
  for (int n = 0; n < static_cast<int>(c.node_group.size()); ++n) AddNodeIds(c, n, c.TopologyOf(n));
  AddFabric(c, where);
}

Fabric ReadFabric(const JsonView& f) {
  f.RejectUnknownKeys({"kind", "transport", "nic_gbps", "latency_us", "oversubscription", "collnet",
                       "nodes_per_leaf", "nics_per_node"});
  Fabric fab;
  fab.kind = f.StrOr("kind", fab.kind);
  if (fab.kind != "rail-optimized" && fab.kind != "fat-tree")
    f.FailField("kind", "expected \"rail-optimized\" or \"fat-tree\", got \"" + fab.kind + "\"");
  fab.transport = f.StrOr("transport", fab.transport);
  if (fab.transport != "rdma" && fab.transport != "tcp")
    f.FailField("transport", "expected \"rdma\" (InfiniBand/RoCE with GPUDirect) or \"tcp\" (sockets)");
  double nic_gbps = f.NumOr("nic_gbps", 0);
  if (nic_gbps < 0 || nic_gbps > kMaxNicGbps)
    f.FailField("nic_gbps", "must be a NIC speed in Gb/s within [0, 1e5] (0 = the speed the topology XML gives)");
  fab.nic_bw = nic_gbps * kGbps;
  double latency_us = f.NumOr("latency_us", 0);
  if (latency_us < 0 || latency_us > kMaxLatencyUs) f.FailField("latency_us", "must be within [0, 1e6] microseconds");
  fab.latency_s = latency_us * kUs;
  fab.oversubscription = f.NumOr("oversubscription", 1.0);
  if (fab.oversubscription < 1.0 || fab.oversubscription > kMaxOversubscription)
    f.FailField("oversubscription", "must be within [1, 1024] (1 = non-blocking)");
  fab.collnet = f.BoolOr("collnet", false);
  int64_t per_leaf = f.PositiveIntOr("nodes_per_leaf", fab.nodes_per_leaf);
  if (per_leaf > kMaxNodes) f.FailField("nodes_per_leaf", "must be at most " + std::to_string(kMaxNodes));
  fab.nodes_per_leaf = static_cast<int>(per_leaf);
  int64_t nics = f.IntOr("nics_per_node", 0);
  if (nics < 0 || nics > kMaxNodes)
    f.FailField("nics_per_node", "must be within [0, " + std::to_string(kMaxNodes) + "] (0 = all NICs of the topology)");
  fab.nics_per_node = static_cast<int>(nics);
  return fab;
}

std::shared_ptr<const NodeTopology> ResolveTopology(const std::string& name, const std::string& cluster_dir,
                                                    const JsonView& field) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!cluster_dir.empty()) {
    fs::path local = fs::path(cluster_dir) / name;
    if (fs::is_regular_file(local, ec)) return std::make_shared<NodeTopology>(LoadNodeTopology(local.string()));
  }
  auto path = ResolveDataFile("topos", name, ".xml");
  if (!path)
    field.FailField("topology", "no topology \"" + name + "\" beside the cluster file or in data/topos (shipped: " +
                                    ListDataNames("topos", ".xml") + ")");
  return std::make_shared<NodeTopology>(LoadNodeTopology(*path));
}

}  // namespace

int Cluster::NumNodes() const { return static_cast<int>(node_group.size()); }

std::vector<LinkId> Cluster::GlobalLinks(int node, const std::vector<LinkId>& local) const {
  std::vector<LinkId> out(local.size());
  for (size_t i = 0; i < local.size(); ++i) out[i] = node_link_base[node] + local[i];
  return out;
}

int Cluster::SwitchOf(int node, int nic) const {
  if (fabric.kind == "rail-optimized") return nic;
  return node / fabric.nodes_per_leaf;
}

std::vector<LinkId> Cluster::FabricRoute(int node_a, int nic_a, int node_b, int nic_b) const {
  LinkId up = nic_uplink[node_a][nic_a];
  LinkId down = nic_uplink[node_b][nic_b] + 1;
  int sa = SwitchOf(node_a, nic_a), sb = SwitchOf(node_b, nic_b);
  if (sa == sb) return {up, down};
  return {up, fabric_up[sa], fabric_down[sb], down};
}

std::vector<LinkId> Cluster::NetRoute(GpuId g, int nic, GpuId h, int nic2) const {
  int na = gpu_node[g], nb = gpu_node[h];
  std::vector<LinkId> out = GlobalLinks(na, PathsOf(na).gpu_nic[LocalIndex(g)][nic].links);
  for (LinkId l : FabricRoute(na, nic, nb, nic2)) out.push_back(l);
  // The receiving side: h's path to the NIC, reversed.
  const NodeTopology& tb = TopologyOf(nb);
  const auto& back = PathsOf(nb).gpu_nic[LocalIndex(h)][nic2].links;
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    LinkId rev = tb.reverse[*it];
    PROTEUS_CHECK(rev >= 0, "every NIC path link has a reverse");
    out.push_back(node_link_base[nb] + rev);
  }
  return out;
}

std::vector<LinkId> Cluster::Route(GpuId g, GpuId h) const {
  int na = gpu_node[g], nb = gpu_node[h];
  if (na == nb) return GlobalLinks(na, PathsOf(na).gpu_gpu[LocalIndex(g)][LocalIndex(h)].links);
  int nic_a = PathsOf(na).local_nic[LocalIndex(g)], nic_b = PathsOf(nb).local_nic[LocalIndex(h)];
  PROTEUS_CHECK(nic_a >= 0 && nic_b >= 0, "inter-node route needs NICs");
  nic_a = std::min(nic_a, NicsPerNode(na) - 1);
  nic_b = std::min(nic_b, NicsPerNode(nb) - 1);
  return NetRoute(g, nic_a, h, nic_b);
}

Cluster LoadCluster(const std::string& name_or_path) {
  auto path = ResolveDataFile("clusters", name_or_path, ".json");
  if (!path) {
    // Generic homogeneous names: "<topology>-<nodes>", e.g. "dgx-a100-384".
    auto dash = name_or_path.rfind('-');
    if (dash != std::string::npos && dash + 1 < name_or_path.size() &&
        name_or_path.find_first_not_of("0123456789", dash + 1) == std::string::npos &&
        ResolveDataFile("topos", name_or_path.substr(0, dash), ".xml")) {
      // At most 6 digits, so the count neither overflows int nor builds a graph without end.
      std::string digits = name_or_path.substr(dash + 1);
      int64_t nodes = digits.size() <= 6 ? std::stoll(digits) : kMaxNodes + 1;
      if (nodes > kMaxNodes)
        throw UserError(name_or_path, "at most " + std::to_string(kMaxNodes) + " nodes, got " + digits);
      if (nodes > 0) return MakeHomogeneousCluster(name_or_path.substr(0, dash), static_cast<int>(nodes), 0);
    }
    throw UserError(name_or_path, "no such cluster file or shipped cluster (shipped: " +
                                      ListDataNames("clusters", ".json") +
                                      "; or <topology>-<nodes> with a topology of data/topos)");
  }
  Json doc = ReadJsonFile(*path);
  JsonView root(doc, *path);
  root.RequireFormat("proteus.cluster", kClusterMajor);
  root.RejectUnknownKeys({"format", "name", "description", "source", "node_groups", "fabric"});
  Cluster c;
  c.source_file = *path;
  c.name = root.StrOr("name", std::filesystem::path(*path).stem().string());
  std::string dir = std::filesystem::path(*path).parent_path().string();
  JsonView groups = root.At("node_groups");
  if (groups.Size() == 0) groups.Fail("expected at least one node group");
  int64_t total_nodes = 0;
  for (size_t i = 0; i < groups.Size(); ++i) {
    JsonView g = groups.At(i);
    g.RejectUnknownKeys({"name", "count", "gpu", "topology", "database"});
    NodeGroup ng;
    int64_t count = g.PositiveInt("count");
    total_nodes += std::min(count, kMaxNodes + 1);
    if (total_nodes > kMaxNodes)
      g.FailField("count", "the cluster would have more than " + std::to_string(kMaxNodes) + " nodes");
    ng.count = static_cast<int>(count);
    ng.gpu_type = g.Str("gpu");
    // The simulator prices compute from this spec; naming a missing one here points at the field.
    if (!ResolveDataFile("gpus", ng.gpu_type, ".json"))
      g.FailField("gpu", "unknown GPU type \"" + ng.gpu_type + "\"; " +
                             DidYouMean(ng.gpu_type, DataNames("gpus", ".json")) +
                             "(data/gpus has: " + ListDataNames("gpus", ".json") +
                             "; or give the path of a proteus.gpu/1 file)");
    ng.topology = g.Str("topology");
    ng.database = g.StrOr("database", "");
    auto topo = ResolveTopology(ng.topology, dir, g);
    ng.name = g.StrOr("name", topo->name);
    ng.gpus_per_node = topo->NumGpus();
    c.groups.push_back(ng);
    c.group_topology.push_back(topo);
  }
  c.fabric = root.Has("fabric") ? ReadFabric(root.At("fabric")) : Fabric{};
  BuildGraph(c, *path);
  return c;
}

Cluster MakeHomogeneousCluster(const std::string& topology_name, int nodes, double nic_gbps) {
  if (nodes <= 0 || nodes > kMaxNodes)
    throw UserError("nodes", "must be a positive number of nodes, at most " + std::to_string(kMaxNodes));
  if (!(nic_gbps >= 0) || nic_gbps > kMaxNicGbps) throw UserError("nic_gbps", "must be within [0, 1e5] Gb/s");
  Cluster c;
  auto topo = std::make_shared<NodeTopology>(LoadNodeTopology(topology_name));
  c.name = topology_name + "-" + std::to_string(nodes);
  NodeGroup g;
  g.name = topo->name;
  g.count = nodes;
  g.topology = topology_name;
  g.gpus_per_node = topo->NumGpus();
  g.gpu_type = DefaultGpuType(*topo);
  c.groups.push_back(g);
  c.group_topology.push_back(topo);
  c.fabric.nic_bw = nic_gbps * kGbps;
  BuildGraph(c, topology_name);
  return c;
}

Cluster SubCluster(const Cluster& cluster, int group, int nodes) {
  PROTEUS_CHECK(group >= 0 && group < static_cast<int>(cluster.groups.size()), "SubCluster: no such node group");
  PROTEUS_CHECK(nodes > 0 && nodes <= cluster.groups[group].count, "SubCluster: more nodes than the group has");
  Cluster c;
  c.name = cluster.name;
  c.source_file = cluster.source_file;
  c.groups.push_back(cluster.groups[group]);
  c.groups[0].count = nodes;
  c.group_topology.push_back(cluster.group_topology[group]);
  c.fabric = cluster.fabric;
  BuildGraph(c, cluster.source_file.empty() ? cluster.name : cluster.source_file);
  return c;
}

}  // namespace proteus
