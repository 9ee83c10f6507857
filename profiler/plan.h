// The plan of a profiling run: the op keys, collective points and interference pairs to measure,
// whether to dump the topology, and an honest estimate of how long it all takes.
//
// Estimate of one measurement (the same policy the measuring loop follows, stats.h):
//   op:          setup + (1 + warm-up + timed calls) * (t_call + kPerCallOverhead)
//                setup = kSetupS + input bytes * rotation sets / fill bandwidth
//   collective:  communicator init per (ranks, algo, proto) group + calls * t(bytes), with
//                t = latency(proto) + bytes * algbw_factor(op, ranks) / (nvlink_bw * eff(proto))
//   interference: alone and co-running runs of each (compute, collective) pair, kInterferencePairS
// e.g. a 10 us op: 1 + 2 + 200 calls -> 203 * (10 + 6) us + 2 ms setup = 5.2 ms.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "common/op_key.h"
#include "profiler/device_presets.h"

namespace proteus::profiler {

/// One point of one collective curve.
struct CollectivePoint {
  CollectiveKey key;
  int64_t bytes = 0;   // nccl-tests size: the larger of the per-rank send and receive buffers
};

/// One interference measurement: `compute` on the compute stream while `comm` loops on another.
struct InterferencePair {
  std::string compute_class;   // OpClass of compute.kind
  OpKey compute;
  CollectiveKey comm;
  int64_t comm_bytes = 0;
};

struct Plan {
  std::vector<OpKey> ops;
  std::vector<CollectivePoint> collectives;   // grouped by (ranks, algo, proto) for comm reuse
  std::vector<InterferencePair> interference;
  bool topology = false;
};

/// What the node offers, from the probe (or from --gpu/--gpus in a dry run).
struct NodeDesc {
  DevicePreset device;
  int gpus = 1;          // local GPUs
  int nodes = 1;         // MPI processes (one per node)
};

/// Collective points: every op in `ops` (all_reduce, all_gather, reduce_scatter, alltoall,
/// broadcast, sendrecv) for group sizes 2, 4, 8, ... up to the node's GPUs (and the GPU count
/// itself), NCCL's default choice on 8 B..max_bytes (x2 steps) and every algorithm x protocol
/// candidate NCCL may offer for that op on x4 steps. Candidates NCCL rejects at run time are
/// skipped by the measuring loop.
struct CollectiveOptions {
  std::vector<std::string> ops = {"all_reduce", "all_gather", "reduce_scatter", "alltoall",
                                  "broadcast", "sendrecv"};
  int64_t min_bytes = 8;
  int64_t max_bytes = int64_t{4} << 30;
  bool all_algos = true;
  DType dtype = DType::kBf16;
};
std::vector<CollectivePoint> PlanCollectives(const NodeDesc& node, const CollectiveOptions& opt);

/// Algorithm x protocol candidates NCCL may use for `op` on this node (NCCL 2.2x: ring/tree/
/// nvls/nvls_tree/collnet/pat by collective; p2p ops have none but the default).
std::vector<std::pair<std::string, std::string>> AlgoProtoCandidates(const std::string& op,
                                                                     const NodeDesc& node);

/// Interference pairs: a representative op of each class (gemm, attention, norm, elementwise)
/// against all_reduce, all_gather, reduce_scatter and alltoall over all local GPUs, 256 MB.
std::vector<InterferencePair> PlanInterference(const NodeDesc& node);

/// Estimated seconds of each part of a plan.
struct PlanEstimate {
  double ops_s = 0, collectives_s = 0, interference_s = 0, topology_s = 0;
  double total() const { return ops_s + collectives_s + interference_s + topology_s; }
};
PlanEstimate EstimatePlan(const Plan& plan, const NodeDesc& node);
double EstimateOpMeasurementSeconds(const OpKey& key, const DevicePreset& dev);
double EstimateCollectiveCallSeconds(const CollectivePoint& p, const DevicePreset& dev);

/// Prints the plan for --dry-run: counts per kind/dtype/phase, collective groups, interference
/// pairs and the estimate. Deterministic.
void PrintPlan(std::ostream& os, const Plan& plan, const NodeDesc& node, bool list_keys);

}  // namespace proteus::profiler
