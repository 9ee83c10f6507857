#include "topo/coll_flows.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/error.h"
#include "topo/nccl_model.h"

namespace proteus {
namespace {

// Flows merged by (src GPU, dst GPU, NIC out, NIC in); -1 NICs for intra-node hops.
class FlowSet {
 public:
  explicit FlowSet(const Cluster& c) : c_(c) {}
  void Add(GpuId src, GpuId dst, int nic_out, int nic_in, double bytes) {
    if (src == dst || bytes <= 0) return;
    hops_[{src, dst, nic_out, nic_in}] += bytes;
  }
  void AddLinks(std::vector<LinkId> links, double bytes) {
    if (bytes <= 0 || links.empty()) return;
    raw_[links] += bytes;
  }
  std::vector<FlowSpec> Take() const {
    std::vector<FlowSpec> out;
    for (const auto& [key, bytes] : hops_) {
      auto [src, dst, no, ni] = key;
      FlowSpec f;
      bool inter = c_.gpu_node[src] != c_.gpu_node[dst];
      f.links = inter && no >= 0 ? c_.NetRoute(src, no, dst, ni) : c_.Route(src, dst);
      f.bytes = bytes;
      out.push_back(std::move(f));
    }
    for (const auto& [links, bytes] : raw_) out.push_back(FlowSpec{links, bytes, 0});
    return out;
  }

 private:
  const Cluster& c_;
  std::map<std::tuple<GpuId, GpuId, int, int>, double> hops_;
  std::map<std::vector<LinkId>, double> raw_;
};

// GPU of node k (shape index) at the position the channel order gives for the first node.
GpuId GpuAt(const Cluster& c, const GroupShape& s, int k, int local_of_first) {
  const auto& first = s.local[0];
  const auto& mine = s.local[k];
  int node = s.node_ids[k];
  auto it = std::find(first.begin(), first.end(), local_of_first);
  size_t pos = it == first.end() ? 0 : static_cast<size_t>(it - first.begin());
  if (mine.size() != first.size()) pos = std::min(pos, mine.size() - 1);
  return c.node_first_gpu[node] + mine[pos];
}

// The channel's ring: GPU sequence and, for the hop after each GPU, the NIC it leaves through and the
// NIC the next node receives on (-1 inside a node).
void ChannelRing(const Cluster& c, const GroupShape& s, const ChannelGraph& g, int ch, std::vector<GpuId>* ring,
                 std::vector<std::pair<int, int>>* nic_after) {
  ring->clear();
  nic_after->clear();
  const auto& order = g.orders[ch];
  int in = g.nics.empty() ? -1 : g.nics[ch].first, out = g.nics.empty() ? -1 : g.nics[ch].second;
  for (int k = 0; k < s.nodes; ++k) {
    for (size_t i = 0; i < order.size(); ++i) {
      ring->push_back(GpuAt(c, s, k, order[i]));
      bool last = i + 1 == order.size() && s.nodes > 1;
      int next = s.node_ids[(k + 1) % s.nodes];
      nic_after->push_back(last ? std::pair{std::min(out, c.NicsPerNode(s.node_ids[k]) - 1),
                                            std::min(in, c.NicsPerNode(next) - 1)}
                                : std::pair{-1, -1});
    }
  }
}

void RingFlows(const Cluster& c, const GroupShape& s, const ChannelGraph& g, CollOp op, double bytes, FlowSet* fs) {
  const int n = s.ranks;
  double factor = op == CollOp::kAllReduce ? 2.0 * (n - 1) / n
                  : (op == CollOp::kAllGather || op == CollOp::kReduceScatter) ? double(n - 1) / n : 1.0;
  bool chain = op == CollOp::kBroadcast || op == CollOp::kReduce;
  double per_hop = factor * bytes / g.n_channels;
  std::vector<GpuId> ring;
  std::vector<std::pair<int, int>> nic_after;
  for (int ch = 0; ch < g.n_channels; ++ch) {
    ChannelRing(c, s, g, ch, &ring, &nic_after);
    const int len = static_cast<int>(ring.size());
    for (int i = 0; i < len; ++i) {
      if (chain && i == len - 1) break;  // no hop back into the root
      fs->Add(ring[i], ring[(i + 1) % len], nic_after[i].first, nic_after[i].second, per_hop);
    }
  }
}

// Parent of node index i in one of NCCL's two binary trees over the nodes (-1 for the root).
int TreeParent(int i, int nodes, bool mirror) {
  int j = mirror ? nodes - 1 - i : i;
  if (j == 0) return -1;
  int p = (j - 1) / 2;
  return mirror ? nodes - 1 - p : p;
}

void InterTreeFlows(const Cluster& c, const GroupShape& s, const ChannelGraph& g, double bytes, FlowSet* fs) {
  if (s.nodes < 2) return;
  for (int ch = 0; ch < g.n_channels; ++ch) {
    bool mirror = ch % 2 == 1;
    int nic = g.nics.empty() ? 0 : std::max(0, g.nics[ch].first);
    int head_local = g.orders[ch][0];
    for (int k = 0; k < s.nodes; ++k) {
      int parent = TreeParent(k, s.nodes, mirror);
      if (parent < 0) continue;
      GpuId child_gpu = GpuAt(c, s, k, head_local), parent_gpu = GpuAt(c, s, parent, head_local);
      int nk = std::min(nic, c.NicsPerNode(s.node_ids[k]) - 1), np = std::min(nic, c.NicsPerNode(s.node_ids[parent]) - 1);
      fs->Add(child_gpu, parent_gpu, nk, np, bytes / g.n_channels);  // reduce, up
      fs->Add(parent_gpu, child_gpu, np, nk, bytes / g.n_channels);  // broadcast, down
    }
  }
}

void TreeFlows(const Cluster& c, const GroupShape& s, const ChannelGraph& g, double bytes, FlowSet* fs) {
  for (int ch = 0; ch < g.n_channels; ++ch) {
    const auto& order = g.orders[ch];
    for (int k = 0; k < s.nodes; ++k) {
      for (size_t i = 0; i + 1 < order.size(); ++i) {
        GpuId a = GpuAt(c, s, k, order[i]), b = GpuAt(c, s, k, order[i + 1]);
        fs->Add(b, a, -1, -1, bytes / g.n_channels);  // reduce toward the head
        fs->Add(a, b, -1, -1, bytes / g.n_channels);  // broadcast back
      }
    }
  }
  InterTreeFlows(c, s, g, bytes, fs);
}

// The GPU's NVLink cable to the NVSwitch (global ids: up, down).
std::pair<LinkId, LinkId> SwitchLinks(const Cluster& c, GpuId gpu) {
  int node = c.gpu_node[gpu];
  const NodeTopology& t = c.TopologyOf(node);
  for (LinkId l : t.graph.out_links[t.gpus[c.LocalIndex(gpu)]]) {
    if (t.graph.vertices[t.graph.links[l].dst].kind == VertexKind::kNvSwitch)
      return {c.node_link_base[node] + l, c.node_link_base[node] + t.reverse[l]};
  }
  PROTEUS_CHECK(false, "NVLS needs every GPU on the NVSwitch");
  return {-1, -1};
}

void NvlsFlows(const Cluster& c, const GroupShape& s, CollOp op, double bytes, FlowSet* fs) {
  const int n = s.ranks;
  double up = op == CollOp::kAllGather ? bytes / n : bytes;
  double down = op == CollOp::kReduceScatter ? bytes / n : bytes;
  if (s.nodes > 1) { up = bytes; down = bytes; }  // each node reduces / broadcasts the whole buffer
  for (const auto& members : s.members) {
    for (GpuId gpu : members) {
      auto [u, d] = SwitchLinks(c, gpu);
      fs->AddLinks({u}, up);
      fs->AddLinks({d}, down);
    }
  }
}

void CollNetFlows(const Cluster& c, const GroupShape& s, const ChannelGraph& g, double bytes, FlowSet* fs) {
  // Each channel's head sends its share to the leaf switch, which reduces and returns the result.
  for (int ch = 0; ch < g.n_channels; ++ch) {
    int head_local = g.orders[ch][0];
    for (int k = 0; k < s.nodes; ++k) {
      int node = s.node_ids[k];
      GpuId head = GpuAt(c, s, k, head_local);
      int nic = std::min(std::max(0, g.nics[ch].first), c.NicsPerNode(node) - 1);
      auto path = c.GlobalLinks(node, c.PathsOf(node).gpu_nic[c.LocalIndex(head)][nic].links);
      LinkId uplink = c.nic_uplink[node][nic];
      std::vector<LinkId> up = path;
      up.push_back(uplink);
      std::vector<LinkId> down = {uplink + 1};
      const NodeTopology& t = c.TopologyOf(node);
      const auto& local = c.PathsOf(node).gpu_nic[c.LocalIndex(head)][nic].links;
      for (auto it = local.rbegin(); it != local.rend(); ++it) down.push_back(c.node_link_base[node] + t.reverse[*it]);
      fs->AddLinks(up, bytes / g.n_channels);
      fs->AddLinks(down, bytes / g.n_channels);
    }
  }
}

}  // namespace

std::vector<FlowSpec> BuildFlows(const Cluster& cluster, const GroupShape& shape, const std::vector<GpuId>& group,
                                 const ChannelGraph& graph, CollOp op, NcclAlgo algo, double bytes) {
  FlowSet fs(cluster);
  switch (algo) {
    case NcclAlgo::kRing:
    case NcclAlgo::kPat: RingFlows(cluster, shape, graph, op, bytes, &fs); break;
    case NcclAlgo::kTree: TreeFlows(cluster, shape, graph, bytes, &fs); break;
    case NcclAlgo::kNvls: NvlsFlows(cluster, shape, op, bytes, &fs); break;
    case NcclAlgo::kNvlsTree:
      NvlsFlows(cluster, shape, op, bytes, &fs);
      InterTreeFlows(cluster, shape, graph, bytes, &fs);
      break;
    case NcclAlgo::kCollNetDirect:
    case NcclAlgo::kCollNetChain: {
      if (cluster.TopologyOf(shape.node_ids[0]).has_nvswitch && algo == NcclAlgo::kCollNetDirect)
        NvlsFlows(cluster, shape, op, bytes, &fs);
      else
        TreeFlows(cluster, shape, graph, bytes, &fs);
      CollNetFlows(cluster, shape, graph, bytes, &fs);
      break;
    }
  }
  return fs.Take();
}

std::vector<FlowSpec> BuildP2pFlows(const Cluster& cluster, const GroupShape& shape, const std::vector<GpuId>& group,
                                    CollOp op, double bytes) {
  FlowSet fs(cluster);
  if (op == CollOp::kSendRecv) {
    fs.Add(group[0], group[1], -1, -1, bytes);
    return fs.Take();
  }
  const int n = static_cast<int>(group.size());
  const double share = bytes / n;
  constexpr int kPairwiseLimit = 64;  // above this, inter-node traffic is merged per GPU and NIC
  for (int i = 0; i < n; ++i) {
    double remote = 0;
    for (int j = 0; j < n; ++j) {
      if (i == j) continue;
      bool same = cluster.gpu_node[group[i]] == cluster.gpu_node[group[j]];
      if (same || n <= kPairwiseLimit) fs.Add(group[i], group[j], -1, -1, share);
      else remote += share;
    }
    if (remote <= 0) continue;
    // Egress of rank i and, symmetrically, the same amount of ingress (every rank receives as much).
    GpuId g = group[i];
    int node = cluster.gpu_node[g];
    int nic = std::min(cluster.PathsOf(node).local_nic[cluster.LocalIndex(g)], cluster.NicsPerNode(node) - 1);
    const auto& local = cluster.PathsOf(node).gpu_nic[cluster.LocalIndex(g)][nic].links;
    auto up = cluster.GlobalLinks(node, local);
    up.push_back(cluster.nic_uplink[node][nic]);
    std::vector<LinkId> down = {cluster.nic_uplink[node][nic] + 1};
    const NodeTopology& t = cluster.TopologyOf(node);
    for (auto it = local.rbegin(); it != local.rend(); ++it) down.push_back(cluster.node_link_base[node] + t.reverse[*it]);
    fs.AddLinks(up, remote);
    fs.AddLinks(down, remote);
  }
  return fs.Take();
}

}  // namespace proteus
