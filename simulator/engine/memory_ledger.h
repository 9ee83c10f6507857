// The memory ledger: bytes allocated per simulated GPU and MemCategory over simulated time.
//
//   current_g(t) = static_memory_g + sum of MemEffect bytes applied on g up to t
//   dynamic_g(t) = current_g(t) - static_memory_g   (what tasks allocated and have not freed)
//   peak_g       = reserve_g + static_memory_g + fragmentation_g x max over t of dynamic_g(t); the
//                  breakdown is taken when the maximum is first reached (the factor is >= 1, so the
//                  moment is the same as without it); the extra (fragmentation_g - 1) x dynamic is
//                  reported apart, as is the reserve
//   oom_g        = capacity_g > 0 and peak_g > capacity_g   (a verdict in the result, never a throw)
// The reserve (CUDA context, workspaces) and fragmentation (the caching allocator's reserved over
// allocated ratio) come from the strategy's memory settings; static tensors are allocated once, in
// large blocks, so fragmentation applies to task allocations only.
//
// Effects apply when their task starts (at_end = false) or ends (at_end = true); all effects of one
// task at one moment apply together before the peak is checked. A category going negative means the
// execution graph frees what it never allocated: a compiler bug, reported as InternalError.
//
// Example: static weights 10 GB, capacity 16 GB; a forward allocates 4 GB of activations at its start
// and its backward frees them at its end: peak 14 GB {weights 10, activations 4}, no OOM. With a
// reserve of 1 GB and fragmentation 1.25: peak 10 + 4 + 1 (reserve) + 1 (fragmentation) = 16 GB.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"

namespace proteus {

class MemoryLedger {
 public:
  /// Allocates every GPU's static memory at t = 0.
  explicit MemoryLedger(const ExecGraph& graph);
  /// Applies the effects of task `t` that belong to its start (at_end false) or its end.
  void Apply(TaskId t, bool at_end, double now);
  /// Per GPU: peak, breakdown, OOM verdict, what is left allocated.
  std::vector<GpuMemory> Result() const;

 private:
  void RaisePeak(int gpu, TaskId t, double now);

  const ExecGraph& graph_;
  std::vector<std::array<int64_t, kNumMemCategories>> current_;
  std::vector<int64_t> total_;
  std::vector<int64_t> static_total_;
  std::vector<GpuMemory> memory_;
};

}  // namespace proteus
