// The report (proteus.report/1): what a simulation predicts, for people (a table) and machines
// (JSON). Built from the execution graph, the engine's result and the compile summary.
//
//   iteration time t (the engine's makespan)
//   samples/s   = global_batch / t           tokens/s = samples/s * seq_len
//   A model without a sequence (seq_len 0: the zoo's CNNs) prints images/s (image_size > 0) or
//   samples/s and no tokens; its JSON tokens_per_s stays samples/s * max(seq_len, 1) (stable for
//   readers and search's ranking) and images_per_s / inputs.image_size are added.
//   model TFLOP/s per GPU = model FLOPs per iteration / (t * GPUs)   (no recomputation)
//   hw TFLOP/s per GPU    = executed FLOPs per iteration / (t * GPUs) (with recomputation)
//   MFU = model FLOPs per iteration / (t * sum over the job's GPUs of each GPU's own peak dense
//         FLOP/s in the compute dtype); one GPU type: model TFLOP/s per GPU / that GPU's peak.
//   e.g. 16 A100 (312 TFLOP/s bf16) + 16 V100 (15.7, no bf16 tensor cores): t * (16*312 + 16*15.7)e12
// Time breakdown per simulated GPU: compute busy, exposed communication per stream kind (comm busy
// while compute idles), and the rest of the iteration idle (pipeline bubble and waiting).
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/json_file.h"
#include "simulator/compile/exec_graph.h"

namespace proteus {

/// The GPUs of one type in a job and the peak each has (MFU's denominator sums them).
struct GpuTypeShare {
  std::string type;         // GPU spec name
  int64_t gpus = 0;         // the job's GPUs of this type
  double peak_flops = 0;    // one GPU's dense FLOP/s in the compute dtype
};

struct GpuReport {
  std::string label;
  std::string gpu_type;              // the GPU spec it was priced as
  int multiplicity = 1;
  int64_t peak_memory = 0;
  int64_t memory_capacity = 0;
  std::array<int64_t, kNumMemCategories> memory_at_peak{};
  int64_t memory_reserve = 0;        // fixed: CUDA context, workspaces, NCCL internals
  int64_t memory_fragmentation = 0;  // allocator overhead on task allocations at the peak
  bool oom = false;
  double compute_s = 0;                          // compute stream busy
  std::array<double, kNumStreams> exposed_comm_s{};  // per stream kind (tp/dp/pp/copy)
  std::array<double, kNumStreams> hidden_comm_s{};   // busy while compute runs: overlapped, not exposed
  double idle_s = 0;                             // neither computing nor in exposed communication
  // Host (CPU) memory kept for this GPU under optimizer offload and activation offload (one
  // micro-batch's offloaded activations; SimGpu); not part of peak_memory.
  int64_t host_optimizer_bytes = 0, host_gradient_bytes = 0, host_activation_bytes = 0;
};

struct Report {
  // Inputs, echoed.
  std::string model, cluster, strategy, gpu_type, dtype;
  std::string precision;  // the dtype, or how fp8 is used ("bf16 + fp8 GEMMs (TE hybrid, delayed scaling)")
  int64_t params = 0;
  int gpus = 0, simulated_gpus = 0;
  std::vector<GpuTypeShare> gpu_types;  // one entry per GPU type; several on a mixed cluster
  bool MixedGpuTypes() const { return gpu_types.size() > 1; }
  int64_t global_batch = 0, micro_batches = 0, seq_len = 0;
  int64_t image_size = 0;  // input height = width of a vision model (0 otherwise)
  // Predictions.
  double iteration_time_s = 0;
  double samples_per_s = 0, tokens_per_s = 0;
  double model_flops = 0, hw_flops = 0;          // per iteration, whole job
  double tflops_per_gpu = 0, hw_tflops_per_gpu = 0, mfu = 0;
  double bubble_fraction = 0;                    // idle share of the busiest stage's iteration
  std::vector<GpuReport> per_gpu;
  std::array<int64_t, kNumCostSources> cost_sources{};  // tasks per source
  // The calibration the compute estimates used ("" = none), e.g. "A100-SXM4-80GB: 13 runs, CV
  // mean |error| 3.1% (data/db/a100-calibrated.json)".
  std::string calibration;
  bool oom = false;
  /// When out of memory: what would make it fit, each line checked by a simulation where the
  /// strategy came from shorthand flags (pipeline/fit_advice.h).
  std::vector<std::string> fit_advice;
  /// What the run could not do as asked (e.g. symmetry turned off on a pipeline rank mixing GPU types).
  std::vector<std::string> notes;
  /// True when no compute task came from a measurement or a calibration: every number rests on the
  /// datasheet roofline alone.
  bool UncalibratedOnly() const;

  int64_t PeakMemory() const;                    // max over GPUs
  /// Looks up a metric by the names of run_spec's KnownMetrics ("iteration_time_s", "mfu", ...).
  double Metric(const std::string& name) const;
};

Json ReportToJson(const Report& report);
void PrintReportTable(const Report& report, std::ostream& out);

}  // namespace proteus
