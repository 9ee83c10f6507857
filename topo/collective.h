// Collectives as NCCL runs them: algorithm and protocol choice, predicted time, and the flows that
// carry the bytes over the cluster's links (so the simulator's engine can share bandwidth between
// concurrent collectives).
//
// Contract with the simulator (compile/ asks, engine/ runs):
//   plan = model.Plan({op, group, bytes, dtype});
//   alone, the collective takes plan.time_s = plan.latency_s + transfer, and every flow f carries
//   f.bytes over f.links at up to f.max_rate bytes/s, where max_rate = f.bytes / (time_s - latency_s)
//   so that, with no competition, all flows finish exactly at time_s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"
#include "topo/ids.h"

namespace proteus {

enum class CollOp { kAllReduce, kAllGather, kReduceScatter, kBroadcast, kReduce, kAllToAll, kSendRecv };
std::string_view CollOpName(CollOp op);  // "all_reduce", "all_gather", ..., "sendrecv"
bool ParseCollOp(std::string_view name, CollOp* out);

struct CollectiveRequest {
  CollOp op = CollOp::kAllReduce;
  std::vector<GpuId> group;  // global GPU ids, in rank order; for sendrecv: {src, dst}
  int64_t bytes = 0;         // nccl-tests convention: the per-rank buffer size (all_gather: output size)
  DType dtype = DType::kBf16;
};

struct FlowSpec {
  std::vector<LinkId> links;  // route, in order
  double bytes = 0;
  double max_rate = 0;        // bytes/s cap when alone (see contract above)
};

struct CollectivePlan {
  std::string algo;           // ring, tree, nvls, nvls_tree, collnet_direct, collnet_chain, pat, p2p, local
  std::string proto;          // ll, ll128, simple
  int channels = 1;
  double latency_s = 0;
  double time_s = 0;          // predicted time alone
  std::string source;         // "topology-model" or "measured:<curve key>" or "interim-model"
  std::vector<FlowSpec> flows;
};

/// Predicts collectives on one cluster. Implementations: the NCCL-style topology model (topo/) and
/// measured curves layered over it. Thread-safe for concurrent const calls.
class CollectiveModel {
 public:
  virtual ~CollectiveModel() = default;
  virtual CollectivePlan Plan(const CollectiveRequest& request) const = 0;
  /// Every link a plan of `op` over `group` may route a flow over, whatever its size: sorted, without
  /// repeats, a superset of the links of every such plan. nullopt where the model cannot tell. Lets a
  /// caller rule out contention between two groups once instead of planning every size of each.
  virtual std::optional<std::vector<LinkId>> Footprint(CollOp op, const std::vector<GpuId>& group) const {
    return std::nullopt;
  }
};

}  // namespace proteus
