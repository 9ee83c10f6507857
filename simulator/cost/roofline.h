// Roofline estimate of one operator call from a GPU spec alone (no measurement):
//
//   time = max(overhead + max(flops / (peak(unit, dtype) * eff_compute(size)),
//                             bytes / (bw * eff_mem(bytes))),
//              host_launch)
//
// peak is the dtype's tensor rate for matmuls and attention, vector_flops for CUDA-core math, and
// the link bandwidth for host/peer copies; the efficiencies come from cost/efficiency.h; overhead
// is the GPU's fixed per-kernel time (launch, ramp, drain); host_launch (0 unless calibrated) is the
// host's time to issue a kernel, the floor when the host cannot run ahead.
//
// Worked example, H100 bf16 gemm m=n=k=8192 (1.1e12 FLOPs, 402 MB):
//   compute 1.1e12 / (989.4e12 * 0.767) = 1.449 ms;  memory 402e6 / (3.35e12 * 0.90) = 0.133 ms
//   time = 2 us + 1.449 ms = 1.451 ms (compute bound, 758 TFLOP/s achieved)
#pragma once

#include "common/op_key.h"
#include "simulator/cost/gpu_spec.h"

namespace proteus {

struct RooflineEstimate {
  double seconds = 0;             // total: overhead + max(compute_s, memory_s)
  double compute_s = 0;           // math time at the size-dependent efficiency
  double memory_s = 0;            // data-movement time at the size-dependent efficiency
  double overhead_s = 0;          // fixed per-kernel time
  double compute_efficiency = 0;  // fraction of the math peak used while computing
  double flops = 0, bytes = 0;    // the work (cost/op_work.h)
  bool compute_bound() const { return compute_s >= memory_s; }
};

/// Roofline time of one call of `key` on `gpu`. Precondition: ValidateOpKey(key) passes.
RooflineEstimate Roofline(const OpKey& key, const GpuSpec& gpu);

}  // namespace proteus
