#include "topo/nccl_model.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "common/units.h"
#include "topo/coll_flows.h"

namespace proteus {
namespace {

int Log2i(int64_t n) {
  int l = 0;
  while (n >>= 1) ++l;
  return l;
}

bool IsCollNet(NcclAlgo a) { return a == NcclAlgo::kCollNetDirect || a == NcclAlgo::kCollNetChain; }
bool IsNvls(NcclAlgo a) { return a == NcclAlgo::kNvls || a == NcclAlgo::kNvlsTree; }

// Which algorithms NCCL offers for an op (tuning.cc loop guards).
bool OpAllows(CollOp op, NcclAlgo a, int generation) {
  if (a == NcclAlgo::kRing) return true;
  if (generation == 1) return op == CollOp::kAllReduce && (a == NcclAlgo::kTree || a == NcclAlgo::kCollNetDirect);
  switch (op) {
    case CollOp::kAllReduce: return a != NcclAlgo::kPat;
    case CollOp::kAllGather:
    case CollOp::kReduceScatter:
      return a == NcclAlgo::kNvls || a == NcclAlgo::kCollNetDirect || (a == NcclAlgo::kPat && generation >= 3);
    default: return false;
  }
}

// One NCCL function index for the generation-1 per-collective LL128 cap.
int FuncIndex(CollOp op) {
  switch (op) {
    case CollOp::kBroadcast: return 0;
    case CollOp::kReduce: return 1;
    case CollOp::kAllGather: return 2;
    case CollOp::kReduceScatter: return 3;
    default: return 4;
  }
}

struct ModelInputs {
  const NcclTuning* t;
  CollOp op;
  int n_ranks, n_nodes;
  double ppn;
  int sm, cc_index;
  bool amd_cpu;
  bool has_nvswitch;
  bool collnet;
};

// busBw -> algBw for one algorithm and protocol (NCCL ncclTopoTuneModel), GB/s; 0 = unavailable.
double ModelBw(const ModelInputs& in, const ChannelGraph& g, NcclAlgo a, NcclProto p) {
  const NcclTuning& t = *in.t;
  int nsteps = in.op == CollOp::kAllReduce ? 2 * (in.n_ranks - 1)
               : (in.op == CollOp::kAllGather || in.op == CollOp::kReduceScatter) ? in.n_ranks - 1 : in.n_ranks;
  int idx2 = in.n_nodes <= 2 ? in.n_nodes - 1 : 2;
  int idx1 = in.n_nodes == 1 ? in.cc_index : (in.amd_cpu ? 1 : 0);
  bool collnet = IsCollNet(a);
  double bw = (in.n_nodes <= 2 || collnet) ? g.bw_intra : g.bw_inter;
  if (a == NcclAlgo::kNvls) bw = std::min(g.bw_intra, g.bw_inter);
  if (a == NcclAlgo::kNvlsTree) bw = std::min(g.bw_intra, in.n_nodes <= 2 ? g.bw_inter : g.bw_inter / 2);
  double bus = g.n_channels * bw;
  if (t.generation == 1) {
    bool cc80 = in.sm == 80;
    if (cc80) bus = std::min(bus, 235.0);
    if (a == NcclAlgo::kRing && p == NcclProto::kLl)
      bus *= (in.n_nodes > 1 || in.op == CollOp::kAllReduce || in.op == CollOp::kReduce) ? 1.0 / 4.0 : 1.0 / 3.0;
    if (a == NcclAlgo::kRing && p == NcclProto::kLl128)
      bus = std::min(bus * (in.ppn < 2 ? 0.7 : 0.92), t.ll128_max_bw_per_ch[FuncIndex(in.op)] * g.n_channels);
    double max_tree = in.n_nodes > 2 ? (cc80 && p == NcclProto::kLl128 ? 105.0 : 80.0)
                                     : (cc80 && p == NcclProto::kLl128 ? 130.0 : 110.0);
    if (a == NcclAlgo::kTree) bus = std::min(bus * .9, max_tree);
    if (a == NcclAlgo::kTree && p == NcclProto::kLl) bus *= 1.0 / 3.8;
    if (a == NcclAlgo::kTree && p == NcclProto::kLl128)
      bus = std::min(bus * (in.n_nodes == 1 ? 7.0 / 9.0 : 0.915),
                     t.ll128_max_bw_per_ch[FuncIndex(in.op)] * g.n_channels * 7.0 / 9.0);
    if (collnet) bus *= .9;
    if (collnet && p == NcclProto::kLl) bus *= 1.0 / 6.0;
    if (collnet && p == NcclProto::kLl128) bus = 0;
    return bus * (a != NcclAlgo::kRing ? .5 : double(in.n_ranks) / nsteps);
  }
  if (a == NcclAlgo::kRing && p == NcclProto::kLl)
    bus = std::min(t.ll_max_bw[idx1][idx2],
                   bus * ((in.n_nodes > 1 || in.op == CollOp::kAllReduce || in.op == CollOp::kReduce) ? 1.0 / 4.0 : 1.0 / 3.0));
  if (a == NcclAlgo::kRing && p == NcclProto::kLl128)
    bus = std::min(bus * (in.ppn < 2 ? 0.7 : 0.92), g.n_channels * t.per_ch_max_ring_ll128_bw[in.cc_index][idx2]);
  if (a == NcclAlgo::kTree) bus = std::min(bus * .92, g.n_channels * t.per_ch_max_tree_bw[in.cc_index][idx2]);
  if (a == NcclAlgo::kTree && p == NcclProto::kLl) bus = std::min(bus / 3.8, t.ll_max_bw[idx1][idx2]);
  if (a == NcclAlgo::kTree && p == NcclProto::kLl128)
    bus = std::min(bus * (in.n_nodes == 1 ? 7.0 / 9.0 : 120.0 / 128.0), g.n_channels * t.per_ch_max_tree_ll128_bw[in.cc_index][idx2]);
  if (a == NcclAlgo::kTree && g.tree_pattern) bus *= .85;
  if (a == NcclAlgo::kPat) bus *= .75;
  if (collnet && p != NcclProto::kSimple) bus = 0;
  bool collnet_ag_rs = a == NcclAlgo::kCollNetDirect && (in.op == CollOp::kAllGather || in.op == CollOp::kReduceScatter);
  if (a == NcclAlgo::kCollNetDirect && p == NcclProto::kSimple) {
    if (collnet_ag_rs) {
      double w = (in.ppn - 1) / (8 - 1);
      bus = in.ppn * bw * (w * 0.85 + (1 - w) * 0.95);
    } else {
      double factor = in.ppn / g.n_channels;  // GPUs per NIC
      factor -= (factor - 1) / 2;
      bus /= factor;
      if (in.sm >= 90) bus *= .85;
    }
  }
  if (a == NcclAlgo::kCollNetChain && p == NcclProto::kSimple) bus *= .75;
  if (!collnet_ag_rs) {
    // PAT moves ring-like traffic: its bus bandwidth converts like the ring's.
    if (a == NcclAlgo::kRing || a == NcclAlgo::kPat) bus *= double(in.n_ranks) / nsteps;
    else if (IsNvls(a)) bus *= 5.0 / 6.0;
    else bus *= .5;
  }
  return bus;
}

// Latency (us) of one algorithm and protocol (NCCL ncclTopoTuneModel). `per_hop_chain`: a ring
// broadcast/reduce pays one step per hop even when every channel has the same ring (NCCL's model
// charges one step then; a chunk still crosses every hop of the chain, and with the one-step rule a
// faster network whose search yields distinct rings would look 15x slower).
double ModelLatency(const ModelInputs& in, const ChannelGraph& g, NcclAlgo a, NcclProto p, double net_lat_us,
                    bool per_hop_chain = false) {
  const NcclTuning& t = *in.t;
  int ai = static_cast<int>(a), pi = static_cast<int>(p);
  int nsteps = in.op == CollOp::kAllReduce ? 2 * (in.n_ranks - 1)
               : (in.op == CollOp::kAllGather || in.op == CollOp::kReduceScatter) ? in.n_ranks - 1 : in.n_ranks;
  int inter_steps = in.op == CollOp::kAllReduce ? (t.generation == 1 ? 2 * (in.n_nodes - 1) : (in.n_nodes > 1 ? 2 * in.n_nodes : 0))
                    : (in.op == CollOp::kAllGather || in.op == CollOp::kReduceScatter) ? in.n_nodes - 1 : in.n_nodes;
  int intra_hw = g.type_intra <= PathType::kNvl ? 0 : 1;
  int hw = in.n_nodes == 1 ? intra_hw : 2;
  double lat = t.base_lat_us[ai][pi];
  double intra = t.hw_lat_us[intra_hw][ai][pi];
  double inter = t.hw_lat_us[2][ai][pi];
  if (t.generation == 1) {
    if (in.n_nodes > 1 && p == NcclProto::kLl) intra *= 1.8;
  } else {
    inter += net_lat_us;
    if (p == NcclProto::kSimple) inter += net_lat_us;  // the flush
  }
  int rpn = in.n_ranks / in.n_nodes;
  switch (a) {
    case NcclAlgo::kRing: {
      if (in.op == CollOp::kReduce || in.op == CollOp::kBroadcast) {
        // NCCL: channels with different rings pay a latency per step.
        double step = t.hw_lat_us[hw][ai][pi];
        bool same = !per_hop_chain && (g.orders.empty() || std::all_of(g.orders.begin(), g.orders.end(), [&](const auto& o) { return o == g.orders[0]; }));
        if (same) return lat + step;
        if (p == NcclProto::kSimple) step = t.hw_lat_us[hw][static_cast<int>(NcclAlgo::kTree)][pi];
        return lat + nsteps * step;
      }
      if (t.generation >= 2 && in.n_nodes > 1) {
        double overhead = t.net_overhead_us * (in.amd_cpu ? 2.0 : 1.0) * (p == NcclProto::kSimple ? 3 : 1);
        intra = std::max(intra, overhead);
      }
      return lat + (nsteps - inter_steps) * intra + inter_steps * inter;
    }
    case NcclAlgo::kTree: return lat + 2 * ((rpn - 1) * intra + Log2i(in.n_nodes) * inter);
    case NcclAlgo::kCollNetDirect:
      if (t.generation == 1) return lat + 2 * (rpn - 1) * intra + inter;
      return lat + 2 * (std::min(1, rpn - 1) * intra + (rpn - 1) * 0.4) + inter;
    case NcclAlgo::kCollNetChain: return lat + 2 * (rpn - 1) * intra + inter;
    case NcclAlgo::kNvls: return intra + (in.n_nodes > 1 ? inter : 0);
    case NcclAlgo::kNvlsTree: return lat + intra + 2 * Log2i(in.n_nodes) * inter;
    case NcclAlgo::kPat: return 8 + Log2i(in.n_nodes) * (inter / 3.5) + in.n_ranks * 2.8;
  }
  return lat;
}

bool Ll128Enabled(const ModelInputs& in, const ChannelGraph& g) {
  if (in.t->generation == 1)
    return g.type_inter <= PathType::kPxb && g.type_intra <= PathType::kNvl && (in.sm == 70 || in.sm == 80);
  bool ok = g.type_inter <= PathType::kPxb || (in.sm >= 90 && g.type_inter <= PathType::kPxn);
  ok = ok && g.type_intra <= PathType::kNvb;
  return ok && (in.sm == 70 || in.sm == 80 || in.sm == 90);
}

// NCCL launches fewer channels than it has for small messages (enqueue.cc, the thread-threshold loop):
// while bytes < channels x threads x threshold, drop a channel. Threads per channel and bytes per
// thread from NCCL's device.h: LL 512 threads x 8 B (x nRanks for ring), LL128 640 x 8 B, Simple
// 512 x 64 B, NVLS 640 x 64 B.
int LaunchedChannels(NcclAlgo a, NcclProto p, int channels, int ranks, int64_t bytes) {
  double threads = 512, threshold = 64;
  if (p == NcclProto::kLl) threshold = a == NcclAlgo::kRing ? 8.0 * ranks : 8.0;
  if (p == NcclProto::kLl128) { threads = 640; threshold = 8; }
  if (IsNvls(a)) threads = 640;
  if (IsCollNet(a)) return channels;
  int nc = std::max(1, channels);
  while (nc > 1 && bytes < nc * threads * threshold) --nc;
  return nc;
}

// The channels a run launches: the first `launched` of the graph's, each as fast as the bandwidth
// the whole set had allows, up to what one channel alone gets (single_bw), and never slower than the
// channel search's per-channel speed. 5 channels x 0.12 GB/s found on a 0.625 GB/s NIC, one
// launched: min(0.24 single, 5 x 0.12 / 1) = 0.24 GB/s, not 0.12.
ChannelGraph LaunchedGraph(const ChannelGraph& g, int launched) {
  if (launched >= g.n_channels) return g;
  ChannelGraph out = g;
  out.n_channels = launched;
  if (static_cast<int>(out.orders.size()) > launched) out.orders.resize(launched);
  if (static_cast<int>(out.nics.size()) > launched) out.nics.resize(launched);
  for (double* bw : {&out.bw_intra, &out.bw_inter})
    *bw = std::max(*bw, std::min(g.single_bw, *bw * g.n_channels / launched));
  return out;
}

}  // namespace

TopologyCollectiveModel::TopologyCollectiveModel(const Cluster& cluster, CollectiveModelOptions options)
    : cluster_(cluster),
      options_(std::move(options)),
      tuning_(options_.nccl_version.empty() ? &DefaultNcclTuning() : &NcclTuningFor(options_.nccl_version)) {}

GroupShape TopologyCollectiveModel::Shape(const std::vector<GpuId>& group) const {
  GroupShape s;
  s.ranks = static_cast<int>(group.size());
  std::map<int, int> index;
  for (GpuId g : group) {
    PROTEUS_CHECK(g >= 0 && g < cluster_.NumGpus(), "GPU id outside the cluster");
    int node = cluster_.gpu_node[g];
    auto [it, fresh] = index.emplace(node, static_cast<int>(s.node_ids.size()));
    if (fresh) {
      s.node_ids.push_back(node);
      s.local.emplace_back();
      s.members.emplace_back();
    }
    s.local[it->second].push_back(cluster_.LocalIndex(g));
    s.members[it->second].push_back(g);
  }
  for (auto& l : s.local) {
    std::sort(l.begin(), l.end());
    PROTEUS_CHECK(std::adjacent_find(l.begin(), l.end()) == l.end(), "a GPU appears twice in a collective group");
  }
  s.nodes = static_cast<int>(s.node_ids.size());
  s.ppn = double(s.ranks) / s.nodes;
  return s;
}

const TopologyCollectiveModel::Graphs& TopologyCollectiveModel::GraphsFor(const GroupShape& shape) const {
  // NCCL runs the same graph on every node: the weakest node's search wins.
  std::set<std::pair<int, std::vector<int>>> distinct;
  for (int k = 0; k < shape.nodes; ++k) distinct.insert({cluster_.node_group[shape.node_ids[k]], shape.local[k]});
  std::string key = shape.nodes > 1 ? "net" : "local";
  for (const auto& [grp, local] : distinct) {
    key += "|" + std::to_string(grp) + ":";
    for (int l : local) key += std::to_string(l) + ",";
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return *it->second;
  auto graphs = std::make_unique<Graphs>();
  bool first = true;
  for (const auto& [grp, local] : distinct) {
    const NodeTopology& topo = *cluster_.group_topology[grp];
    const NodePaths& paths = *cluster_.group_paths[grp];
    ChannelSearchSpec spec;
    spec.gpus = local;
    spec.net = shape.nodes > 1;
    spec.gdr = cluster_.fabric.transport == "rdma";
    int nics = static_cast<int>(topo.nics.size());
    if (cluster_.fabric.nics_per_node > 0) nics = std::min(nics, cluster_.fabric.nics_per_node);
    spec.nics = nics;
    double nic_bw = cluster_.fabric.nic_bw > 0 ? cluster_.fabric.nic_bw : (nics > 0 ? topo.nic_speed[0] : 0);
    spec.nic_gbps = nic_bw / kGBps;
    Graphs g;
    for (auto [pattern, out] : {std::pair{ChannelPattern::kRing, &g.ring}, std::pair{ChannelPattern::kTree, &g.tree},
                                std::pair{ChannelPattern::kNvls, &g.nvls}}) {
      spec.pattern = pattern;
      *out = SearchChannels(topo, paths, spec, *tuning_);
    }
    if (first) { *graphs = g; first = false; continue; }
    for (auto [mine, other] : {std::pair{&graphs->ring, &g.ring}, std::pair{&graphs->tree, &g.tree},
                               std::pair{&graphs->nvls, &g.nvls}}) {
      mine->n_channels = std::min(mine->n_channels, other->n_channels);
      mine->bw_intra = std::min(mine->bw_intra, other->bw_intra);
      mine->bw_inter = std::min(mine->bw_inter, other->bw_inter);
      mine->single_bw = std::min(mine->single_bw, other->single_bw);
      mine->type_intra = std::max(mine->type_intra, other->type_intra);
      mine->type_inter = std::max(mine->type_inter, other->type_inter);
    }
  }
  for (ChannelGraph* cg : {&graphs->ring, &graphs->tree, &graphs->nvls}) {
    cg->orders.resize(cg->n_channels);
    cg->nics.resize(cg->n_channels);
  }
  return *cache_.emplace(key, std::move(graphs)).first->second;
}

namespace {

// What the tuning model needs of a group's GPUs, and the least SM version among them.
struct GroupInputs {
  ModelInputs in;
  int sm_min = 1000;
};

GroupInputs InputsFor(const Cluster& cluster, const NcclTuning* tuning, CollOp op, const GroupShape& shape) {
  const NodeTopology& topo = cluster.TopologyOf(shape.node_ids[0]);
  GroupInputs gi{{tuning, op, shape.ranks, shape.nodes, shape.ppn, 0, 0, false, topo.has_nvswitch, cluster.fabric.collnet}};
  ModelInputs& in = gi.in;
  int sm_max = 0;
  for (int node : shape.node_ids) {
    gi.sm_min = std::min(gi.sm_min, cluster.TopologyOf(node).MinSm());
    for (int s : cluster.TopologyOf(node).gpu_sm) sm_max = std::max(sm_max, s);
    in.has_nvswitch = in.has_nvswitch && cluster.TopologyOf(node).has_nvswitch;
  }
  in.sm = gi.sm_min == sm_max ? gi.sm_min : -gi.sm_min;  // mixed architectures disable LL128 (NCCL: min == max)
  in.cc_index = gi.sm_min >= 90 ? 2 : gi.sm_min >= 80 ? 1 : 0;
  in.amd_cpu = topo.cpu_vendor == "AuthenticAMD";
  return gi;
}

// The channel graph algorithm `a` runs `op` on over this group (ring, tree, nvls: the group's three), or
// null where NCCL would not offer it here, whatever the size (protocols are chosen later).
const ChannelGraph* AlgoGraph(NcclAlgo a, CollOp op, const GroupShape& shape, const GroupInputs& gi,
                              const CollectiveModelOptions& options, const ChannelGraph& ring, const ChannelGraph& tree,
                              const ChannelGraph& nvls) {
  const ModelInputs& in = gi.in;
  if (!OpAllows(op, a, in.t->generation)) return nullptr;
  if (options.force_algo && *options.force_algo != a) return nullptr;
  if (IsCollNet(a) && (!in.collnet || shape.nodes < 2)) return nullptr;
  if (a == NcclAlgo::kCollNetDirect && !in.has_nvswitch) return nullptr;
  if (a == NcclAlgo::kNvls && (shape.nodes > 1 || gi.sm_min < 90 || !in.has_nvswitch)) return nullptr;
  if (a == NcclAlgo::kNvlsTree && (shape.nodes == 1 || gi.sm_min < 90 || !in.has_nvswitch)) return nullptr;
  if (a == NcclAlgo::kPat && (shape.ppn != 1 || shape.nodes < 2)) return nullptr;
  const ChannelGraph& g = IsNvls(a) ? nvls : (a == NcclAlgo::kRing || a == NcclAlgo::kPat) ? ring : tree;
  return g.n_channels == 0 ? nullptr : &g;
}

}  // namespace

const ChannelGraph& TopologyCollectiveModel::GraphOf(NcclAlgo a, const Graphs& graphs) {
  return IsNvls(a) ? graphs.nvls : (a == NcclAlgo::kRing || a == NcclAlgo::kPat) ? graphs.ring : graphs.tree;
}

std::vector<NcclAlgo> TopologyCollectiveModel::OfferedAlgorithms(CollOp op, const GroupShape& shape) const {
  const Graphs& graphs = GraphsFor(shape);
  const GroupInputs gi = InputsFor(cluster_, tuning_, op, shape);
  std::vector<NcclAlgo> out;
  for (int ai = 0; ai < kNumAlgos; ++ai) {
    auto a = static_cast<NcclAlgo>(ai);
    if (AlgoGraph(a, op, shape, gi, options_, graphs.ring, graphs.tree, graphs.nvls)) out.push_back(a);
  }
  return out;
}

std::vector<AlgoEstimate> TopologyCollectiveModel::Evaluate(CollOp op, const GroupShape& shape, int64_t bytes) const {
  const Graphs& graphs = GraphsFor(shape);
  const GroupInputs gi = InputsFor(cluster_, tuning_, op, shape);
  const ModelInputs& in = gi.in;
  const int sm_min = gi.sm_min;
  double net_lat_us = shape.nodes > 1 ? cluster_.fabric.latency_s / kUs : 0;
  std::vector<AlgoEstimate> out;
  for (int ai = 0; ai < kNumAlgos; ++ai) {
    auto a = static_cast<NcclAlgo>(ai);
    const ChannelGraph* found = AlgoGraph(a, op, shape, gi, options_, graphs.ring, graphs.tree, graphs.nvls);
    if (!found) continue;
    const ChannelGraph& g = *found;
    for (int pi = 0; pi < kNumProtos; ++pi) {
      auto p = static_cast<NcclProto>(pi);
      if ((IsNvls(a) || a == NcclAlgo::kPat) && p != NcclProto::kSimple) continue;
      if (options_.force_proto && *options_.force_proto != p) continue;
      if (p == NcclProto::kLl128 && !options_.force_proto && !Ll128Enabled(in, g)) continue;
      double bw = ModelBw(in, g, a, p);
      if (bw <= 0) continue;
      // The run: the channels NCCL launches for this size, through the same model (NCCL's own
      // choice uses the full set, above).
      ChannelGraph run = LaunchedGraph(g, LaunchedChannels(a, p, g.n_channels, shape.ranks, bytes));
      double lat = ModelLatency(in, g, a, p, net_lat_us);
      double run_lat = ModelLatency(in, run, a, p, net_lat_us, /*per_hop_chain=*/true);
      // The launched channels through the same model: caps bound the whole collective, so fewer
      // channels get the cap only when their own speed reaches it.
      double run_bw = std::max(ModelBw(in, run, a, p), 0.0);
      // ncclTopoGetAlgoTime: tree correction by size, the ring plateau across nodes.
      int log_size = Log2i(bytes >> 6);
      if (a == NcclAlgo::kTree && log_size < static_cast<int>(tuning_->tree_correction[pi].size())) {
        bw *= tuning_->tree_correction[pi][log_size];
        run_bw *= tuning_->tree_correction[pi][log_size];
      }
      if (a == NcclAlgo::kRing && p == NcclProto::kSimple && shape.nodes > 1 && op == CollOp::kAllReduce) {
        if (tuning_->generation == 1 ? bytes >= shape.ranks / 16.0 * 65536
                                     : bytes / (double(g.n_channels) * shape.ranks) >= 64) {
          double plateau = tuning_->generation == 1 || sm_min < 80 ? 1.9 : 1.4;
          lat *= plateau;
          run_lat *= plateau;
        }
      }
      AlgoEstimate e{a, p, bw * kGBps, lat * kUs, lat * kUs + bytes / (bw * kGBps), g.n_channels};
      e.run_channels = run.n_channels;
      e.run_bw = run_bw * kGBps;
      e.run_latency_s = run_lat * kUs;
      e.run_time_s = e.run_latency_s + bytes / e.run_bw;
      out.push_back(e);
    }
  }
  return out;
}

std::vector<AlgoEstimate> TopologyCollectiveModel::Estimates(const CollectiveRequest& request) const {
  PROTEUS_CHECK(request.group.size() >= 2, "estimates need a group of two or more");
  return Evaluate(request.op, Shape(request.group), request.bytes);
}

}  // namespace proteus
