#include "topo/coll_table.h"

#include <cstdio>

#include "common/error.h"
#include "common/units.h"

namespace proteus {

double BusBwFactor(CollOp op, int n) {
  switch (op) {
    case CollOp::kAllReduce: return 2.0 * (n - 1) / n;
    case CollOp::kAllGather:
    case CollOp::kReduceScatter:
    case CollOp::kAllToAll: return double(n - 1) / n;
    default: return 1.0;
  }
}

std::vector<GpuId> NcclTestsGroup(const Cluster& cluster, int ranks, int nodes) {
  if (ranks < 1) throw UserError("--ranks", "must be a positive number of GPUs");
  if (nodes < 0) throw UserError("--nodes", "must be a positive number of nodes");
  if (nodes == 0) {
    int have = 0;
    for (nodes = 0; nodes < cluster.NumNodes() && have < ranks; ++nodes)
      have += cluster.TopologyOf(nodes).NumGpus();
    if (have < ranks)
      throw UserError("--ranks", std::to_string(ranks) + " GPUs do not fit cluster " + cluster.name + " (" +
                                     std::to_string(cluster.NumGpus()) + " GPUs)");
  }
  if (nodes > cluster.NumNodes())
    throw UserError("--nodes", std::to_string(nodes) + " nodes requested, cluster " + cluster.name + " has " +
                                   std::to_string(cluster.NumNodes()));
  if (ranks % nodes != 0)
    throw UserError("--ranks", std::to_string(ranks) + " ranks do not divide over " + std::to_string(nodes) + " nodes");
  int per_node = ranks / nodes;
  std::vector<GpuId> group;
  for (int n = 0; n < nodes; ++n) {
    if (per_node > cluster.TopologyOf(n).NumGpus())
      throw UserError("--ranks", std::to_string(per_node) + " ranks per node, but node " + std::to_string(n) +
                                     " has " + std::to_string(cluster.TopologyOf(n).NumGpus()) + " GPUs");
    for (int i = 0; i < per_node; ++i) group.push_back(cluster.node_first_gpu[n] + i);
  }
  return group;
}

std::vector<SweepRow> SweepCollective(const CollectiveModel& model, CollOp op, const std::vector<GpuId>& group,
                                      DType dtype, int64_t min_bytes, int64_t max_bytes,
                                      const HarnessOptions& harness) {
  if (min_bytes <= 0) throw UserError("--sizes", "the smallest size must be positive");
  if (max_bytes < min_bytes) throw UserError("--sizes", "the largest size is below the smallest");
  if (harness.gpus_per_thread < 1) throw UserError("-g", "GPUs per thread must be >= 1");
  std::vector<SweepRow> rows;
  const int n = static_cast<int>(group.size());
  for (int64_t b = min_bytes; b <= max_bytes; b *= 2) {
    CollectiveRequest req{op, group, b, dtype};
    if (op == CollOp::kSendRecv) req.group = {group.front(), group.back()};
    CollectivePlan plan = model.Plan(req);
    SweepRow r;
    r.bytes = b;
    r.time_s = plan.time_s + (harness.gpus_per_thread - 1) * harness.launch_s;
    r.algbw = r.time_s > 0 ? b / r.time_s : 0;
    r.busbw = r.algbw * BusBwFactor(op, op == CollOp::kSendRecv ? 2 : n);
    r.algo = plan.algo;
    r.proto = plan.proto;
    r.source = plan.source;
    r.channels = plan.channels;
    rows.push_back(r);
    if (b > INT64_MAX / 2) break;
  }
  return rows;
}

std::string FormatCollectiveTable(const std::vector<SweepRow>& rows, const std::string& cluster_name, CollOp op,
                                  int ranks, int nodes) {
  std::string out = "# " + std::string(CollOpName(op)) + " on " + cluster_name + ": " + std::to_string(ranks) +
                    " ranks, " + std::to_string(nodes) + " node(s); GB/s = 1e9 B/s\n";
  char line[256];
  std::snprintf(line, sizeof line, "#%12s %12s %10s %10s  %-14s %-7s %3s  %s\n", "size", "time(us)", "algbw",
                "busbw", "algo", "proto", "ch", "source");
  out += line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%13s %12.2f %10.2f %10.2f  %-14s %-7s %3d  %s\n", FormatBytes(r.bytes).c_str(),
                  r.time_s / kUs, r.algbw / kGBps, r.busbw / kGBps, r.algo.c_str(), r.proto.c_str(), r.channels,
                  r.source.c_str());
    out += line;
  }
  return out;
}

Json CollectiveTableJson(const std::vector<SweepRow>& rows, const std::string& cluster_name, CollOp op, int ranks,
                         int nodes) {
  Json doc = {{"cluster", cluster_name}, {"op", std::string(CollOpName(op))}, {"ranks", ranks}, {"nodes", nodes}};
  Json arr = Json::array();
  for (const auto& r : rows) {
    arr.push_back({{"bytes", r.bytes},
                   {"time_us", r.time_s / kUs},
                   {"algbw_gbps", r.algbw / kGBps},
                   {"busbw_gbps", r.busbw / kGBps},
                   {"algo", r.algo},
                   {"proto", r.proto},
                   {"channels", r.channels},
                   {"source", r.source}});
  }
  doc["rows"] = arr;
  return doc;
}

}  // namespace proteus
