// nccl-tests style tables of predicted collectives (the `proteus-sim collective` command's logic).
//
//   algbw = size / time;  busbw = algbw x factor, factor = 2(n-1)/n for all_reduce, (n-1)/n for
//   all_gather, reduce_scatter and alltoall, 1 for broadcast, reduce and sendrecv (nccl-tests'
//   README "Performance"). Sizes double from min to max, as nccl-tests -f 2.
// Example row (8x H100, all_reduce, 1 GiB): 4049.0 us, algbw 265.2 GB/s, busbw 464.1 GB/s, nvls/simple.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/json_file.h"
#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

struct SweepRow {
  int64_t bytes = 0;
  double time_s = 0;
  double algbw = 0, busbw = 0;  // bytes/s
  std::string algo, proto, source;
  int channels = 0;
};

/// nccl-tests' bus-bandwidth factor for `op` over `n` ranks.
double BusBwFactor(CollOp op, int n);

/// The group nccl-tests would run: `ranks` GPUs over `nodes` nodes (ranks / nodes per node, the
/// first GPUs of the first nodes), in rank order. nodes = 0: as few nodes as hold the ranks.
/// UserError when it does not fit the cluster or does not divide.
std::vector<GpuId> NcclTestsGroup(const Cluster& cluster, int ranks, int nodes);

/// How the measuring harness launches work. nccl-tests -g G drives G GPUs from one thread: it
/// launches each GPU's kernel in turn inside one NCCL group, so the last GPU starts (G-1) kernel
/// launches after the first and the collective ends that much later. One process per GPU (MPI,
/// srun) is G = 1.
struct HarnessOptions {
  int gpus_per_thread = 1;
  double launch_s = 4e-6;  // one CUDA kernel launch with a device switch (typically 3-5 us)
};

/// Predicts every size min, 2 min, 4 min, ... <= max.
std::vector<SweepRow> SweepCollective(const CollectiveModel& model, CollOp op, const std::vector<GpuId>& group,
                                      DType dtype, int64_t min_bytes, int64_t max_bytes,
                                      const HarnessOptions& harness = {});

/// The table for people: a header naming cluster, op and group, then one line per size.
std::string FormatCollectiveTable(const std::vector<SweepRow>& rows, const std::string& cluster_name, CollOp op,
                                  int ranks, int nodes);
/// The same for machines.
Json CollectiveTableJson(const std::vector<SweepRow>& rows, const std::string& cluster_name, CollOp op, int ranks,
                         int nodes);

}  // namespace proteus
