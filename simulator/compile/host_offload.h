// Host offload on the cluster's hosts: the copies between a GPU and its CPU as flows over the
// node's PCIe (or C2C) links, and CPU Adam's time on the node's CPU. Optimizer offload (DeepSpeed
// ZeRO-Offload, program_offload.cc) and activation offload (Megatron-Core / Transformer Engine,
// program_act_offload.cc) place the steps; compile.cc asks this file to price each one per GPU.
//
// Model.
//   copy of B bytes, GPU g <-> its local CPU (topo/paths.h gpu_cpu / cpu_gpu): one flow over the
//     route's links, time alone = kHostCopyLatencyS + B / min(link bandwidth on the route). The flow
//     shares those links max-min with everything else crossing them (NIC traffic behind the same
//     PCIe switch, the other GPUs' copies to the same CPU).
//   symmetry: one simulated GPU stands for every rank of its pipeline rank; those on the same node
//     copy at the same time, so their copy flows that cross a link of the simulated GPU's route join
//     its Comm (as compile.cc's AddMirrorFlows does for collectives).
//   CPU Adam: cost/cpu_spec.h, memory-bound; the socket's bandwidth is shared by the job's GPUs whose
//     local CPU it is. The node's CPU: the default of its GPU type (DefaultCpuForGpu).
// Worked example: DGX A100, GPU0 -> CPU0 crosses GPU0 -> PCIe switch (shared with NIC0) -> PCIe
// switch (shared with GPU1 and NIC1) -> CPU0, 24 GB/s each (NCCL's Gen4 x16). A 100 MB gradient
// shard alone: 10 us + 100e6 / 24e9 = 4.18 ms; GPU0 and GPU1 copying together: 8.34 ms each.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/program.h"
#include "simulator/cost/cpu_spec.h"
#include "topo/cluster.h"

namespace proteus {

/// Start-up of one cudaMemcpyAsync to or from pinned host memory (assumed: the order of a launch
/// plus DMA set-up, microseconds; small against the megabyte shards offload moves).
inline constexpr double kHostCopyLatencyS = 10e-6;
/// CollectivePlan::algo of a host copy (a calibration's NCCL corrections do not apply to it).
inline constexpr const char* kHostCopyAlgo = "memcpy";

class HostOffload {
 public:
  /// Rank r of `mesh` runs on cluster GPU r; `pp_axis` is the mesh's pipeline axis (-1: none).
  HostOffload(const Cluster& cluster, const DeviceMesh& mesh, int pp_axis)
      : cluster_(cluster), mesh_(mesh), pp_axis_(pp_axis) {}

  /// Prices host step `st` of rank `rank` into task `t`: CPU Adam gets its duration; a copy gets a
  /// new single-member Comm in `g` (its plan one flow, plus mirrors under `symmetry`). UserError when
  /// the GPU has no route to a CPU or its GPU type no default CPU.
  void Bind(const Step& st, GpuId rank, bool symmetry, Task& t, ExecGraph& g);

  /// The plan of one copy of `bytes` between GPU `gpu` and its CPU (a copy op: not kNone, kCpuAdam).
  CollectivePlan CopyPlan(GpuId gpu, HostOp op, int64_t bytes) const;
  /// The links of GPU `gpu`'s route to (CopiesToHost(op)) or from its CPU, global ids.
  std::vector<LinkId> Route(GpuId gpu, HostOp op) const;
  /// The ranks a simulated `rank` stands for under symmetry that sit on its node (itself excluded).
  std::vector<GpuId> SameNodeMirrors(GpuId rank) const;
  /// CPU Adam seconds for `params` parameters of GPU `gpu`.
  double CpuAdamSeconds(GpuId gpu, int64_t params);
  /// GPUs of the job on `gpu`'s node whose local CPU is `gpu`'s.
  int GpusSharingCpu(GpuId gpu) const;

 private:
  std::shared_ptr<const CollectivePlan> CachedPlan(GpuId rank, HostOp op, int64_t bytes, bool symmetry);
  const CpuSpec& CpuOf(GpuId gpu);

  const Cluster& cluster_;
  const DeviceMesh& mesh_;
  int pp_axis_;
  std::map<std::tuple<GpuId, int, int64_t, bool>, std::shared_ptr<const CollectivePlan>> plans_;  // shared by the comms
  std::map<std::string, CpuSpec> cpus_;  // by GPU type
};

}  // namespace proteus
