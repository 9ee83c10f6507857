#include "simulator/compile/host_offload.h"

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace proteus {

std::vector<LinkId> HostOffload::Route(GpuId gpu, HostOp op) const {
  PROTEUS_CHECK(op != HostOp::kNone && op != HostOp::kCpuAdam, "not a host copy");
  int node = cluster_.gpu_node[gpu];
  const NodePaths& paths = cluster_.PathsOf(node);
  const Path& p = CopiesToHost(op) ? paths.gpu_cpu[cluster_.LocalIndex(gpu)] : paths.cpu_gpu[cluster_.LocalIndex(gpu)];
  if (p.links.empty())
    throw UserError(cluster_.TopologyOf(node).source, "GPU " + std::to_string(cluster_.LocalIndex(gpu)) +
                                                          " has no PCIe or C2C route to a CPU; optimizer and "
                                                          "activation offload copies need one");
  return cluster_.GlobalLinks(node, p.links);
}

CollectivePlan HostOffload::CopyPlan(GpuId gpu, HostOp op, int64_t bytes) const {
  FlowSpec flow;
  flow.links = Route(gpu, op);
  double bw = std::numeric_limits<double>::infinity();
  for (LinkId l : flow.links) bw = std::min(bw, cluster_.graph.Bandwidth(l));
  flow.bytes = static_cast<double>(bytes);
  flow.max_rate = bw;
  CollectivePlan plan;
  plan.algo = kHostCopyAlgo;
  plan.proto = CopiesToHost(op) ? "d2h" : "h2d";
  plan.channels = 1;
  plan.latency_s = kHostCopyLatencyS;
  plan.time_s = kHostCopyLatencyS + flow.bytes / bw;
  plan.source = "topology-model";
  plan.flows.push_back(std::move(flow));
  return plan;
}

std::vector<GpuId> HostOffload::SameNodeMirrors(GpuId rank) const {
  std::vector<GpuId> out;
  auto pp = [&](int r) { return pp_axis_ < 0 ? 0 : mesh_.Coord(r, pp_axis_); };
  for (int r = 0; r < mesh_.NumRanks(); ++r)
    if (r != rank && pp(r) == pp(rank) && cluster_.gpu_node[r] == cluster_.gpu_node[rank]) out.push_back(r);
  return out;
}

std::shared_ptr<const CollectivePlan> HostOffload::CachedPlan(GpuId rank, HostOp op, int64_t bytes, bool symmetry) {
  auto key = std::make_tuple(rank, static_cast<int>(op), bytes, symmetry);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  CollectivePlan plan = CopyPlan(rank, op, bytes);
  if (symmetry) {
    // Only mirror flows crossing a link of this route can change its timing.
    std::vector<LinkId> used = plan.flows.front().links;
    std::sort(used.begin(), used.end());
    for (GpuId m : SameNodeMirrors(rank)) {
      CollectivePlan mp = CopyPlan(m, op, bytes);
      const FlowSpec& f = mp.flows.front();
      bool shares = std::any_of(f.links.begin(), f.links.end(),
                                [&](LinkId l) { return std::binary_search(used.begin(), used.end(), l); });
      if (shares) plan.flows.push_back(f);
    }
  }
  return plans_.emplace(key, std::make_shared<const CollectivePlan>(std::move(plan))).first->second;
}

int HostOffload::GpusSharingCpu(GpuId gpu) const {
  int node = cluster_.gpu_node[gpu];
  const NodePaths& paths = cluster_.PathsOf(node);
  NodeId cpu = paths.local_cpu[cluster_.LocalIndex(gpu)];
  int n = 0;
  for (int r = 0; r < mesh_.NumRanks(); ++r)
    if (cluster_.gpu_node[r] == node && paths.local_cpu[cluster_.LocalIndex(r)] == cpu) ++n;
  return std::max(n, 1);
}

const CpuSpec& HostOffload::CpuOf(GpuId gpu) {
  const std::string& type = cluster_.GroupOf(gpu).gpu_type;
  auto it = cpus_.find(type);
  if (it == cpus_.end()) it = cpus_.emplace(type, LoadCpuSpec(DefaultCpuForGpu(type))).first;
  return it->second;
}

double HostOffload::CpuAdamSeconds(GpuId gpu, int64_t params) {
  return proteus::CpuAdamSeconds(CpuOf(gpu), params, GpusSharingCpu(gpu));
}

void HostOffload::Bind(const Step& st, GpuId rank, bool symmetry, Task& t, ExecGraph& g) {
  if (st.host_op == HostOp::kCpuAdam) {
    t.duration_s = CpuAdamSeconds(rank, st.host_params);
    return;
  }
  Comm c;
  c.op = CollOp::kSendRecv;  // a copy-engine transfer: interference as a point-to-point copy's
  c.stream = st.stream;
  c.plan = CachedPlan(rank, st.host_op, st.bytes, symmetry);
  c.bytes = st.bytes;
  t.comm = static_cast<CommId>(g.comms.size());
  g.comms.push_back(std::move(c));
}

}  // namespace proteus
