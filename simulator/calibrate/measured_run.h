// Measured runs, the inputs of calibration: what ran (a RunSpec: model, cluster, strategy) and
// what was measured (iteration time, TFLOP/s per GPU, tokens/s, per-iteration samples), plus
// single-kernel measurements (a GEMM's best TFLOP/s, a FlashAttention curve point) that pin the
// kernel-level parameters directly.
//
// Readers, one per source format, all produce a RunSet:
//   proteus.run/1 and proteus.suite/1 files  ReadRunFile        (run_file.h)
//   Megatron-LM / NeMo training logs         ReadMegatronLog    (megatron_log.h)
//   any of them, dispatched by content       ReadRuns           (read_runs.h)
// Kineto traces are not runs: they become measured cost entries (kineto_trace.h).
#pragma once

#include <string>
#include <vector>

#include "common/op_key.h"
#include "simulator/pipeline/run_spec.h"

namespace proteus {

/// One end-to-end training run: its configuration and what was measured.
struct MeasuredRun {
  std::string name;                         // unique within a RunSet
  std::string origin;                       // where it was read: "runs.json: runs[2]", "train.log"
  RunSpec spec;                             // model, cluster, strategy, dtype, databases
  Measured measured;                        // metric name (KnownMetrics()) -> value, and the source
  std::vector<double> iteration_samples_s;  // per-iteration times after warm-up; may be empty
};

/// One kernel (or a fixed sequence of kernels, e.g. attention fwd + bwd) timed on one GPU type.
struct KernelMeasurement {
  std::string name;                // unique within a RunSet
  std::string origin;              // "kernels.json: kernels[0]"
  std::string gpu;                 // GPU spec name (data/gpus), e.g. "A100-SXM4-80GB"
  std::vector<OpKey> keys;         // one call of each; their times add up to measured_s
  double measured_s = 0;           // seconds of one call of the whole sequence
  std::string source;              // the publication or measurement it comes from
};

struct RunSet {
  std::vector<MeasuredRun> runs;
  std::vector<KernelMeasurement> kernels;
  /// Appends `other`; UserError naming both origins when a name repeats.
  void Append(RunSet other);
};

}  // namespace proteus
