#include "simulator/compile/ps_server.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/error.h"
#include "simulator/compile/host_offload.h"
#include "simulator/cost/cpu_spec.h"

namespace proteus {

PsServers::PsServers(const Cluster& cluster, const DpReduction& r, std::vector<int> worker_nodes, double sum_bw,
                     const std::string& where_servers)
    : cluster_(cluster),
      workers_(std::move(worker_nodes)),
      servers_(r.ps_servers > 0 ? r.ps_servers : static_cast<int>(workers_.size())),
      colocated_(r.ps_colocated),
      partition_bytes_(r.ps_partition_bytes),
      sum_bw_(sum_bw),
      extra_base_(cluster.graph.NumLinks()) {
  PROTEUS_CHECK(workers_.size() >= 2 && partition_bytes_ > 0 && sum_bw_ > 0, "a parameter server needs two workers");
  if (colocated_ && servers_ > static_cast<int>(workers_.size()))
    throw UserError(where_servers, std::to_string(servers_) + " co-located servers on " +
                                       std::to_string(workers_.size()) +
                                       " worker nodes: co-located servers run one per worker node; use at most " +
                                       std::to_string(workers_.size()) + " or separate server hosts");
  PROTEUS_CHECK(!cluster.nic_uplink[workers_.front()].empty(), "worker nodes on a fabric have NICs");
  server_nic_bw_ = cluster.graph.Bandwidth(cluster.nic_uplink[workers_.front()].front());
}

std::vector<double> PsServers::ExtraLinkCapacities() const {
  if (colocated_) return {};
  return std::vector<double>(2 * static_cast<size_t>(servers_), server_nic_bw_);
}

double PsServers::Capacity(LinkId l) const {
  return l < extra_base_ ? cluster_.graph.Bandwidth(l) : server_nic_bw_;
}

int PsServers::ServerSwitch(int server) const {
  return cluster_.SwitchOf(workers_[server % workers_.size()], 0);
}

void PsServers::AddCoreHop(int from_switch, int to_switch, std::vector<LinkId>& route) const {
  if (from_switch == to_switch) return;
  route.push_back(cluster_.fabric_up[from_switch]);
  route.push_back(cluster_.fabric_down[to_switch]);
}

// The worker's first NIC carries its node's traffic (one BytePS process per node talks to the servers).
std::vector<LinkId> PsServers::ToServer(int worker_node, int server) const {
  if (colocated_) {
    const int host = workers_[server];
    if (host == worker_node) return {};
    return cluster_.FabricRoute(worker_node, 0, host, 0);
  }
  std::vector<LinkId> route = {cluster_.nic_uplink[worker_node][0]};
  AddCoreHop(cluster_.SwitchOf(worker_node, 0), ServerSwitch(server), route);
  route.push_back(extra_base_ + 2 * server);
  return route;
}

std::vector<LinkId> PsServers::FromServer(int server, int worker_node) const {
  if (colocated_) {
    const int host = workers_[server];
    if (host == worker_node) return {};
    return cluster_.FabricRoute(host, 0, worker_node, 0);
  }
  std::vector<LinkId> route = {extra_base_ + 2 * server + 1};
  AddCoreHop(ServerSwitch(server), cluster_.SwitchOf(worker_node, 0), route);
  route.push_back(cluster_.nic_uplink[worker_node][0] + 1);
  return route;
}

CollectivePlan PsServers::Plan(const std::vector<GpuId>& roots, int64_t bytes, int64_t first_piece) const {
  PROTEUS_CHECK(roots.size() == workers_.size(), "one root per worker node");
  CollectivePlan plan;
  plan.algo = kPsAlgo;
  plan.proto = colocated_ ? "colocated" : "separate";
  plan.source = "topology-model";
  std::map<int, int64_t> server_bytes;
  for (int64_t offset = 0, j = first_piece; offset < bytes; offset += partition_bytes_, ++j) {
    const int64_t piece = std::min(partition_bytes_, bytes - offset);
    const int server = static_cast<int>(j % servers_);
    server_bytes[server] += piece;
    for (size_t w = 0; w < roots.size(); ++w) {
      const int node = workers_[w];
      const int local = cluster_.LocalIndex(roots[w]);
      FlowSpec push, pull;
      push.links = cluster_.GlobalLinks(node, cluster_.PathsOf(node).gpu_cpu[local].links);
      for (LinkId l : ToServer(node, server)) push.links.push_back(l);
      pull.links = FromServer(server, node);
      for (LinkId l : cluster_.GlobalLinks(node, cluster_.PathsOf(node).cpu_gpu[local].links)) pull.links.push_back(l);
      push.bytes = pull.bytes = static_cast<double>(piece);
      plan.flows.push_back(std::move(push));
      plan.flows.push_back(std::move(pull));
    }
  }
  // Alone: the most loaded link bounds the transfer; every flow is capped to end with it.
  std::map<LinkId, double> load;
  for (const FlowSpec& f : plan.flows)
    for (LinkId l : f.links) load[l] += f.bytes;
  double transfer = 0;
  for (const auto& [l, b] : load) transfer = std::max(transfer, b / Capacity(l));
  double sum = 0;
  for (const auto& [server, b] : server_bytes)
    sum = std::max(sum, static_cast<double>(b) * static_cast<double>(roots.size()) / sum_bw_);
  plan.latency_s = 2 * kHostCopyLatencyS + 2 * cluster_.fabric.latency_s + sum;
  plan.time_s = plan.latency_s + transfer;
  plan.channels = 1;
  for (FlowSpec& f : plan.flows) f.max_rate = transfer > 0 ? f.bytes / transfer : 0;
  // A flow with no links (a co-located server's own worker, without PCIe route) moves nothing.
  std::erase_if(plan.flows, [](const FlowSpec& f) { return f.links.empty(); });
  return plan;
}

namespace {

std::string WhereMethod(const Strategy& s) { return s.origin == "shorthand" ? "--dp-method" : s.origin + ": dp_method"; }

}  // namespace

int PsRanksPerNode(const Strategy& s, int ranks, const Cluster& cluster) {
  if (s.dp_reduction.method != DpMethod::kPs) return 1;
  int local = 0;
  while (local < ranks && cluster.gpu_node[local] == cluster.gpu_node[0]) ++local;
  bool whole = ranks % local == 0;
  for (int r = 1; r < ranks && whole; ++r)
    whole = (r % local == 0) != (cluster.gpu_node[r] == cluster.gpu_node[r - 1]);
  if (!whole || (ranks > local && local != cluster.TopologyOf(cluster.gpu_node[0]).NumGpus()))
    throw UserError(WhereMethod(s), "ps (BytePS) needs whole worker nodes: " + std::to_string(ranks) +
                                        " data-parallel GPUs do not fill nodes of " + std::to_string(local) +
                                        " GPUs each");
  return local;
}

std::optional<PsServers> MakePsServers(const Strategy& s, int ranks, const Cluster& cluster) {
  const int local = PsRanksPerNode(s, ranks, cluster);
  if (s.dp_reduction.method != DpMethod::kPs || ranks <= local) return std::nullopt;
  std::vector<int> nodes;
  for (int r = 0; r < ranks; r += local) nodes.push_back(cluster.gpu_node[r]);
  const CpuSpec cpu = LoadCpuSpec(DefaultCpuForGpu(cluster.GroupOf(0).gpu_type));
  const std::string where = s.origin == "shorthand" ? "--ps-servers" : s.origin + ": ps_servers";
  return PsServers(cluster, s.dp_reduction, std::move(nodes), cpu.mem_bw, where);
}

}  // namespace proteus
