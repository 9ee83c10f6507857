// Where one measured iteration's time went on a GPU, from its activity intervals:
//   compute       = |union of compute kernels|
//   communication = |union of NCCL kernels|
//   exposed comm  = |compute or communication| - compute   (communication no compute covers)
//   idle          = iteration - |union of all activities|  (>= 0)
// Example: compute [0, 600), NCCL [500, 800) in a 1000 us step -> compute 600, communication 300,
// exposed 200, idle 200 (us).
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/calibrate/kernel_classify.h"
#include "simulator/calibrate/kineto_trace.h"

namespace proteus {

struct TimedActivity {
  double start = 0, end = 0;   // seconds
  KernelCategory category = KernelCategory::kCompute;
};

/// The summary of one iteration (`step`, starting at `start`, lasting `time`) over `activities`.
/// Kernel counts: total, communication and copy (mapped/unmapped are the caller's).
IterationSummary SummarizeIteration(int64_t step, double start, double time, const std::vector<TimedActivity>& activities);

/// The mean of each time field over `iterations`; kernel counts are summed.
IterationSummary MeanSummary(const std::vector<IterationSummary>& iterations);

}  // namespace proteus
