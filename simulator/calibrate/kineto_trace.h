// PyTorch profiler (Kineto) Chrome traces in: measured cost entries (proteus.costdb/1 ops) and a
// per-iteration time summary.
//
// A trace of torch.profiler (record_shapes=True, export_chrome_trace) holds, as "ph": "X" events
// with ts/dur in microseconds: cpu_op (aten ops, with "Input Dims", "Input type", "Sequence
// number"), cuda_runtime (cudaLaunchKernel with a "correlation" id, nested in the op that
// launched it) and kernel / gpu_memcpy / gpu_memset (on the device, the same correlation id).
// Older traces spell the categories Operator / Runtime / Kernel / Memcpy / Memset; any case works.
//
// The model, in steps:
//   1. every GPU kernel is launched by a runtime call (correlation id; else its External id names
//      the op), and the runtime call sits inside the innermost cpu_op enclosing it in time on its
//      thread;
//   2. forward: the kernel belongs to the OUTERMOST enclosing op that maps to a key
//      (kernel_classify.h), so aten::linear owns the kernels of its inner addmm, and
//      cross_entropy_loss those of log_softmax and nll_loss;
//   3. backward: inside an autograd node ("autograd::engine::evaluate_function: MmBackward0"),
//      the node's "Sequence number" names the forward op that recorded it; the kernel belongs to
//      that op's key, with the phase kernel_classify.h's BackwardPhase gives (a gemm's dgrad and
//      wgrad told apart by the product's output shape);
//   4. one occurrence is (the owning op call, phase); its time is the sum of its kernels'
//      durations; an entry's median/p10/p90/count are over all occurrences of its key in the
//      iterations used (method "trace", source "trace:<file name>");
//   5. NCCL kernels are communication and memcpy/memset are copies: no entries; compute kernels
//      that map to no key are listed in `unmapped`, never dropped.
// Iterations are the ProfilerStep#N spans (CPU time): by default all but the first (warm-up) when
// there are at least two, else the whole trace is one iteration, timed from the first kernel's
// start to the last one's end. A GPU activity belongs to the step whose span holds its launch.
//
// Summary per iteration (seconds), by interval unions on the device:
//   compute = |U compute kernels|, communication = |U NCCL kernels|,
//   exposed communication = |U NCCL \ U compute|, idle = max(0, iteration - |U all activities|).
// Worked example: a 10 ms step, compute kernels [0,6] ms, an all-reduce [4,9] ms: compute 6,
// communication 5, exposed 3 (6..9), idle 1.
//
//   KinetoTrace t = ReadKinetoTrace("step.json", {});
//   t.db.Save("measured.json");         // a database layer for proteus-sim --db
//   t.summary.mean.time_s;              // the measured iteration time
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "common/dtype.h"
#include "common/json_file.h"

namespace proteus {

struct KinetoOptions {
  DType default_dtype = DType::kBf16;  // key dtype when an op's "Input type" names no floating type
  bool default_causal = true;          // attention whose is_causal was not recorded ("Concrete Inputs")
  /// Device (the kernels' pid, or args.device) to read; unset: the lowest device with kernels.
  std::optional<int64_t> device;
  /// ProfilerStep numbers to use (ProfilerStep#N); empty: the default rule above.
  std::vector<int64_t> iterations;
};

/// Kernel counts of the iterations used.
struct KernelCounts {
  int64_t total = 0;           // GPU activities (kernels, memcpy, memset)
  int64_t mapped = 0;          // compute kernels attributed to a cost entry
  int64_t unmapped = 0;        // compute kernels without a key (listed in KinetoTrace::unmapped)
  int64_t communication = 0;   // NCCL kernels
  int64_t copy = 0;            // memcpy / memset
};

/// One iteration's time on the device, seconds.
struct IterationSummary {
  int64_t step = -1;               // ProfilerStep number; -1 for the whole trace
  double start_s = 0;              // since the trace's first CPU op, runtime call or GPU activity
  double time_s = 0;               // the ProfilerStep span (or the kernels' span)
  double compute_s = 0;            // union of compute kernel intervals
  double communication_s = 0;      // union of NCCL kernel intervals
  double exposed_communication_s = 0;  // communication while no compute kernel runs
  double copy_s = 0;               // union of memcpy / memset intervals
  double idle_s = 0;               // iteration minus the union of all activity intervals (>= 0)
  KernelCounts kernels;
};

struct TraceSummary {
  int64_t device = 0;                       // the device read
  std::vector<int64_t> devices;             // every device with GPU activities, ascending
  std::vector<IterationSummary> iterations; // in step order
  IterationSummary mean;                    // the mean of each field (kernel counts: the sums)
};

/// Compute kernels of one name that mapped to no key.
struct UnmappedKernel {
  std::string name;        // the kernel name
  std::string op;          // the innermost op that launched it the first time ("" when none)
  int64_t count = 0;
  double total_s = 0;
};

struct KinetoTrace {
  CostDb db;                              // the measured entries (ops only; device from deviceProperties)
  TraceSummary summary;
  std::vector<UnmappedKernel> unmapped;   // by total time, largest first
};

/// Reads a trace file. UserError naming the file and the field or event (exit 2) when it is not
/// JSON, has no traceEvents, has no GPU kernels, a negative or non-numeric ts/dur, malformed
/// "Input Dims", or when options name a device or step the trace does not have. Unknown events
/// and fields are ignored.
KinetoTrace ReadKinetoTrace(const std::string& path, const KinetoOptions& options);

/// The same from a parsed document; `origin` names it in errors and in the entries' source
/// ("trace:<origin's file name>").
KinetoTrace ReadKinetoTraceJson(const Json& doc, const std::string& origin, const KinetoOptions& options);

}  // namespace proteus
