// Timing statistics and the repetition policy shared by the measurement loop and the plan estimate.
//
// Percentiles use linear interpolation between order statistics (numpy's default): for sorted
// samples x[0..n-1], the q-quantile sits at position q*(n-1). E.g. {1,2,3,4}: median = 2.5,
// p10 = 1 + 0.3*(2-1) = 1.3, p90 = 3 + 0.7*(4-3) = 3.7.
//
// Repetitions: after a first (untimed) call gives an estimate t, warm up for kWarmupSeconds (at
// least kMinWarmup calls) and time enough calls to fill kTargetSeconds, clamped to
// [min_reps, max_reps]: a 10 us op runs 200 times, a 20 ms op 10 times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/costdb.h"

namespace proteus::profiler {

/// Quantile q in [0,1] of `samples` (need not be sorted); 0 for an empty vector.
double Quantile(std::vector<double> samples, double q);

/// Median, p10, p90 and count of `primary` (seconds), tagged with `method`; `wall` (CUDA-event
/// seconds of the same calls, may be empty) contributes wall_median_s.
TimeStats Summarize(const std::vector<double>& primary, const std::vector<double>& wall,
                    const std::string& method);

/// How many calls to warm up and to time.
struct TimingPolicy {
  double warmup_s = 0.005;   // warm-up time after the first call
  int min_warmup = 2;
  double target_s = 0.02;    // time spent in timed calls
  int min_reps = 10;
  int max_reps = 200;

  int WarmupCalls(double call_s) const;
  int TimedCalls(double call_s) const;
  /// Total calls (first + warm-up + timed) for an op taking `call_s`.
  int TotalCalls(double call_s) const { return 1 + WarmupCalls(call_s) + TimedCalls(call_s); }
};

/// Policy for operators (the defaults above) and for collectives (nccl-tests-like: 5..50 timed).
TimingPolicy OpPolicy();
TimingPolicy CollectivePolicy();

/// Number of input sets to rotate through so that the inputs touched between two uses of the same
/// set exceed twice the L2 (the cache cannot keep them), bounded by `max_sets` and by what fits in
/// `free_bytes` (half of it): sets = clamp(ceil(2*l2 / set_bytes) + 1, 1, max_sets).
int RotationSets(int64_t set_bytes, int64_t l2_bytes, int64_t free_bytes, int max_sets = 16);

}  // namespace proteus::profiler
