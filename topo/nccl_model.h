// The topology collective model: predicts a collective the way NCCL runs it on a cluster.
//
// Steps for one request (group of GPUs, op, bytes):
//   1. shape: nodes the group spans, ranks per node, the GPUs of the group in each node;
//   2. channel graphs per node (ring, tree, NVLS; channel_search.h), cached by (topology, GPU set);
//   3. NCCL's cost model (nccl_tuning.h) for every algorithm x protocol the op allows and the
//      hardware supports; the least predicted time wins, as in NCCL's ncclTopoGetAlgoTime;
//   4. flows (coll_flows.h): the bytes each hop of the chosen algorithm carries over which links.
// Worked example: all_reduce of 1 GiB on 8x H100 (NCCL 2.21): NVLS 8 channels x 40 GB/s x 5/6 =
// 266.7 GB/s algBw, 23 us latency -> 4.05 ms, busbw = 2 x 7/8 x 1 GiB / 4.05 ms = 464 GB/s.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "topo/channel_search.h"
#include "topo/cluster.h"
#include "topo/collective.h"
#include "topo/nccl_tuning.h"

namespace proteus {

struct CollectiveModelOptions {
  std::string nccl_version;                 // "" = the most recent modelled (DefaultNcclTuning)
  std::optional<NcclAlgo> force_algo;       // NCCL_ALGO
  std::optional<NcclProto> force_proto;     // NCCL_PROTO
};

/// The NCCL-style estimate of one algorithm x protocol (before flows).
struct AlgoEstimate {
  NcclAlgo algo = NcclAlgo::kRing;
  NcclProto proto = NcclProto::kSimple;
  double bw = 0;          // algorithm bandwidth, bytes/s (0 = not available)
  double latency_s = 0;
  double time_s = 0;
  int channels = 0;
  // The run for this size: NCCL launches fewer channels for small messages (enqueue.cc); they move
  // the bytes at run_bw. Plan() chooses by the run (see docs/topology.md), NCCL by time_s.
  int run_channels = 0;
  double run_bw = 0;         // bytes/s
  double run_latency_s = 0;  // latency with the launched channels (ring broadcast: same rings or not)
  double run_time_s = 0;     // run_latency_s + bytes / run_bw
};

/// The group as NCCL sees it.
struct GroupShape {
  int ranks = 0, nodes = 0;
  double ppn = 0;                              // ranks per node (average)
  std::vector<int> node_ids;                   // distinct nodes, in order of first appearance
  std::vector<std::vector<int>> local;         // per node: local GPU indices in the group (ascending)
  std::vector<std::vector<GpuId>> members;     // per node: global ids in group rank order
};

class TopologyCollectiveModel : public CollectiveModel {
 public:
  TopologyCollectiveModel(const Cluster& cluster, CollectiveModelOptions options = {});
  CollectivePlan Plan(const CollectiveRequest& request) const override;
  /// The union of the links of every algorithm NCCL could choose for `op` on this group.
  std::optional<std::vector<LinkId>> Footprint(CollOp op, const std::vector<GpuId>& group) const override;

  /// Every available algorithm x protocol with its predicted time (for --explain and tests).
  std::vector<AlgoEstimate> Estimates(const CollectiveRequest& request) const;
  GroupShape Shape(const std::vector<GpuId>& group) const;
  const NcclTuning& tuning() const { return *tuning_; }
  const Cluster& cluster() const { return cluster_; }

 private:
  struct Graphs {
    ChannelGraph ring, tree, nvls;
  };
  const Graphs& GraphsFor(const GroupShape& shape) const;
  std::vector<AlgoEstimate> Evaluate(CollOp op, const GroupShape& shape, int64_t bytes) const;
  // The algorithms NCCL offers for `op` on this group, whatever the size (Evaluate's candidates).
  std::vector<NcclAlgo> OfferedAlgorithms(CollOp op, const GroupShape& shape) const;
  // The channel graph an algorithm runs on: NVLS's, the ring's (ring, PAT) or the tree's.
  static const ChannelGraph& GraphOf(NcclAlgo a, const Graphs& graphs);

  const Cluster& cluster_;
  CollectiveModelOptions options_;
  const NcclTuning* tuning_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::unique_ptr<Graphs>> cache_;
};

}  // namespace proteus
