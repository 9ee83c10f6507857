// TopologyCollectiveModel::Plan: choose, time, decompose into flows.
#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "common/units.h"
#include "topo/coll_flows.h"
#include "topo/nccl_model.h"
#include "topo/nccl_pipeline.h"

namespace proteus {
namespace {

// A collective cannot beat its own links: stretch the transfer time if a link would be loaded beyond
// its bandwidth when the flows run at their planned rates.
double TransferFloor(const Cluster& c, const std::vector<FlowSpec>& flows) {
  // Loads summed per link in flow order, in a dense per-thread scratch (Plan() may run on several
  // threads; a large ring touches thousands of the cluster's links, a map per call was the cost).
  thread_local std::vector<double> load;
  thread_local std::vector<LinkId> touched;
  if (load.size() < static_cast<size_t>(c.graph.NumLinks())) load.assign(c.graph.NumLinks(), 0.0);
  touched.clear();
  for (const auto& f : flows)
    for (LinkId l : f.links) {
      if (load[l] == 0.0) touched.push_back(l);
      load[l] += f.bytes;
    }
  double floor = 0;
  for (LinkId l : touched) {
    if (load[l] != 0.0) floor = std::max(floor, load[l] / c.graph.Bandwidth(l));
    load[l] = 0.0;
  }
  return floor;
}

void SetRates(CollectivePlan* plan) {
  double transfer = plan->time_s - plan->latency_s;
  for (auto& f : plan->flows) f.max_rate = transfer > 0 ? f.bytes / transfer : 0;
}


// Point-to-point patterns are not in NCCL's tuning model: proteus times them as one ring step per
// protocol (latency baseLat + hwLat of one step, bandwidth of the route), the least wins.
AlgoEstimate P2pEstimate(const NcclTuning& t, const Cluster& c, const GroupShape& s, CollOp op,
                         const std::vector<GpuId>& group, int64_t bytes) {
  double path_bw = 1e30, step_bytes = bytes;
  bool net = s.nodes > 1;
  bool nvl = true;
  if (op == CollOp::kSendRecv) {
    GpuId a = group[0], b = group[1];
    if (c.gpu_node[a] == c.gpu_node[b]) {
      const Path& p = c.PathsOf(c.gpu_node[a]).gpu_gpu[c.LocalIndex(a)][c.LocalIndex(b)];
      path_bw = p.bw;
      nvl = p.type <= PathType::kNvl;
    } else {
      for (LinkId l : c.Route(a, b)) path_bw = std::min(path_bw, c.graph.Bandwidth(l));
    }
  } else {
    // alltoall: each GPU sends (n-1)/n of its buffer; the slower of its own links and its node's NICs.
    const int n = s.ranks;
    for (int k = 0; k < s.nodes; ++k) {
      int node = s.node_ids[k];
      const NodeTopology& t2 = c.TopologyOf(node);
      double gpu_bw = 0;
      for (LinkId l : t2.graph.out_links[t2.gpus[s.local[k][0]]]) {
        const Link& link = t2.graph.links[l];
        if (link.kind == LinkKind::kNvLink) gpu_bw += link.bandwidth;
      }
      if (gpu_bw == 0) gpu_bw = t2.graph.links[t2.graph.out_links[t2.gpus[s.local[k][0]]][0]].bandwidth;
      nvl = nvl && t2.has_nvswitch;
      double ppn = s.local[k].size();
      double t_intra = bytes * (ppn - 1) / n / gpu_bw;
      double t_inter = 0;
      if (net) {
        double nic_bw = 0;
        for (LinkId up : c.nic_uplink[node]) nic_bw += c.graph.Bandwidth(up);
        t_inter = ppn * bytes * (n - ppn) / n / nic_bw;
      }
      path_bw = std::min(path_bw, bytes / std::max(std::max(t_intra, t_inter), 1e-30));
    }
    step_bytes = bytes;
  }
  int hw = net ? 2 : (nvl ? 0 : 1);
  int ring = static_cast<int>(NcclAlgo::kRing);
  AlgoEstimate best;
  best.time_s = 1e30;
  for (int p = 0; p < kNumProtos; ++p) {
    double eff = p == 0 ? 0.25 : p == 1 ? 0.92 : 1.0;  // LL moves 8 bytes per 16, LL128 120 per 128
    double bw = path_bw * eff;
    double lat = (t.base_lat_us[ring][p] + t.hw_lat_us[hw][ring][p]) * kUs;
    double time = lat + step_bytes / bw;
    if (time < best.time_s) best = {NcclAlgo::kRing, static_cast<NcclProto>(p), bw, lat, time, 1};
  }
  return best;
}

}  // namespace

CollectivePlan TopologyCollectiveModel::Plan(const CollectiveRequest& request) const {
  PROTEUS_CHECK(!request.group.empty(), "a collective needs a group");
  PROTEUS_CHECK(request.bytes >= 0, "negative collective size");
  CollectivePlan plan;
  plan.source = "topology-model";
  if (request.op == CollOp::kSendRecv) PROTEUS_CHECK(request.group.size() == 2, "sendrecv takes {src, dst}");
  if (request.group.size() == 1 || request.bytes == 0 ||
      (request.op == CollOp::kSendRecv && request.group[0] == request.group[1])) {
    plan.algo = "local";
    plan.proto = "simple";
    return plan;
  }
  GroupShape shape = Shape(request.group);
  AlgoEstimate best;
  double floor = 0;  // TransferFloor of the chosen flows
  bool p2p = request.op == CollOp::kAllToAll || request.op == CollOp::kSendRecv;
  if (p2p) {
    best = P2pEstimate(*tuning_, cluster_, shape, request.op, request.group, request.bytes);
    plan.flows = BuildP2pFlows(cluster_, shape, request.group, request.op, static_cast<double>(request.bytes));
    floor = TransferFloor(cluster_, plan.flows);
    plan.algo = "p2p";
  } else {
    auto estimates = Evaluate(request.op, shape, request.bytes);
    if (estimates.empty() && (options_.force_algo || options_.force_proto))
      throw UserError("forced algorithm/protocol",
                      std::string("NCCL offers no ") + (options_.force_algo ? std::string(AlgoName(*options_.force_algo)) : "") +
                          (options_.force_proto ? "/" + std::string(ProtoName(*options_.force_proto)) : "") + " for " +
                          std::string(CollOpName(request.op)) + " on this group; force another or none");
    PROTEUS_CHECK(!estimates.empty(), "no NCCL algorithm available for this group (forced algorithm or protocol not offered?)");
    // Every candidate is timed as it would run (launched channels, NVLS pipeline fill, the floor of
    // its own links) and the least wins: NCCL chooses by its full-channel model, but that choice can
    // run slower than a loser, and then more bandwidth could slow a job (docs/topology.md).
    const Graphs& graphs = GraphsFor(shape);
    std::map<NcclAlgo, std::pair<std::vector<FlowSpec>, double>> flows_of;  // algo -> flows, floor
    double best_total = 1e300;
    for (AlgoEstimate e : estimates) {
      const ChannelGraph& g = GraphOf(e.algo, graphs);
      const double model_bw = e.bw;
      e.time_s = e.run_time_s;
      e.latency_s = e.run_latency_s;
      e.bw = e.run_bw;
      e.channels = e.run_channels;
      // The tuning model has no pipeline fill; NVLS kernels do (nccl_pipeline.h). NVLS runs
      // nvlsChannels channels with one head per GPU of the node (the NVLS graph's channels).
      if (e.algo == NcclAlgo::kNvls && tuning_->nvls_channels > 0) {
        ChunkQuery q{e.algo, e.proto, request.op, tuning_->nvls_channels, std::max(1, g.n_channels), request.bytes};
        double fill = PipelineFillTime(q, model_bw);
        e.latency_s += fill;
        e.time_s += fill;
      }
      // The floor only lengthens a candidate: one that cannot beat the best so far even without it
      // is decided without building its flows (the choice is the same as building them).
      if (e.time_s >= best_total * (1 - 1e-12)) continue;
      auto it = flows_of.find(e.algo);
      if (it == flows_of.end()) {
        auto flows = BuildFlows(cluster_, shape, request.group, g, request.op, e.algo, static_cast<double>(request.bytes));
        double floor = TransferFloor(cluster_, flows);
        it = flows_of.emplace(e.algo, std::pair{std::move(flows), floor}).first;
      }
      double total = e.latency_s + std::max(e.time_s - e.latency_s, it->second.second);
      if (total < best_total * (1 - 1e-12)) {
        best_total = total;
        best = e;
      }
    }
    // The winner's flows and floor were computed when it was timed: a ring over thousands of nodes
    // is costly to copy or to load again link by link.
    auto& chosen = flows_of.at(best.algo);
    plan.flows = std::move(chosen.first);
    floor = chosen.second;
    plan.algo = std::string(AlgoName(best.algo));
  }
  plan.proto = std::string(ProtoName(best.proto));
  plan.channels = best.channels;
  plan.latency_s = best.latency_s;
  plan.time_s = best.latency_s + std::max(best.time_s - best.latency_s, floor);
  SetRates(&plan);
  return plan;
}

std::optional<std::vector<LinkId>> TopologyCollectiveModel::Footprint(CollOp op, const std::vector<GpuId>& group) const {
  std::vector<LinkId> links;
  auto take = [&links](const std::vector<FlowSpec>& flows) {
    for (const FlowSpec& f : flows) links.insert(links.end(), f.links.begin(), f.links.end());
  };
  const bool p2p = op == CollOp::kAllToAll || op == CollOp::kSendRecv;
  if (group.size() > 1 && !(op == CollOp::kSendRecv && group[0] == group[1])) {
    GroupShape shape = Shape(group);
    // Routes do not depend on the size: one byte stands for every size (Plan scales the same hops).
    if (p2p) {
      take(BuildP2pFlows(cluster_, shape, group, op, 1.0));
    } else {
      const Graphs& graphs = GraphsFor(shape);
      for (NcclAlgo a : OfferedAlgorithms(op, shape))
        take(BuildFlows(cluster_, shape, group, GraphOf(a, graphs), op, a, 1.0));
    }
  }
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
  return links;
}

}  // namespace proteus
