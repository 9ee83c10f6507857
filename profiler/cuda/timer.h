// Timing of one op: warm-up, many repetitions, CUPTI kernel time beside CUDA-event wall time.
//
// The timed loop on one stream is
//   marker | event | call(0) | event | marker | event | call(1) | event | ... | marker
// CUPTI's activity records (CONCURRENT_KERNEL and MEMCPY) are sorted by start time and cut at the
// marker kernels, so the records between two markers are exactly one call's kernels, however many
// the libraries launched: kernel time of call i = sum of (end - start) of its records. The events
// give the wall time of the same call (launch gaps included). Without CUPTI (another profiler
// attached, no permission) the events alone are used: method "cuda_events".
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "profiler/stats.h"

namespace proteus::profiler {

/// One kernel or memcpy execution as CUPTI saw it.
struct ActivityRecord {
  std::string name;         // demangled kernel name, or "memcpy HtoD" ...
  uint64_t start_ns = 0, end_ns = 0;
  uint32_t device = 0;
};

/// The process's CUPTI activity subscription (CUPTI allows one per process).
class CuptiCollector {
 public:
  static CuptiCollector& Get();
  /// Whether activity tracing could be enabled.
  bool available() const { return available_; }
  /// Flushes CUPTI's buffers and returns (and forgets) every record since the last Drain, sorted
  /// by start time.
  std::vector<ActivityRecord> Drain();

 private:
  CuptiCollector();
  bool available_ = false;
};

/// Per-call times of a timed loop.
struct CallTimes {
  std::vector<double> kernel_s;     // CUPTI kernel sums (empty without CUPTI)
  std::vector<double> wall_s;       // CUDA events
  std::vector<std::string> kernels; // kernel names of one call, launch order, unique
};

/// Runs call(i) as the policy says on `stream` (the op's rotation index i) and returns the
/// per-call times of the timed calls. `other_records` receives records not on `device` or named
/// like `exclude_prefix` are dropped (collectives running beside, in interference runs).
CallTimes TimeCalls(const std::function<void(int)>& call, cudaStream_t stream, int device,
                    const TimingPolicy& policy, const std::string& exclude_prefix = "nccl");

/// Splits sorted records into calls at the marker kernels (pure: tested on the CPU side too).
std::vector<std::vector<ActivityRecord>> SplitAtMarkers(const std::vector<ActivityRecord>& sorted,
                                                        int device, const std::string& exclude_prefix);

/// Summarizes CallTimes into TimeStats (CUPTI kernel sum when complete, else events).
TimeStats StatsOf(const CallTimes& t);

}  // namespace proteus::profiler
