// Turns the engine's result into a Report (report.h): throughput, FLOP rates, memory and time
// breakdown per simulated GPU, cost-source counts.
#pragma once

#include <string>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"
#include "simulator/report/report.h"

namespace proteus {

/// What the report echoes and needs beyond the graph and the result.
struct ReportContext {
  std::string model, cluster, strategy, gpu_type, dtype;
  std::string precision;         // "bf16 + fp8 GEMMs (TE e4m3, delayed scaling)"; "" = dtype
  int64_t params = 0;
  int64_t global_batch = 0, micro_batches = 0, seq_len = 0;
  int64_t image_size = 0;        // vision models: input height = width (0 otherwise)
  double model_flops = 0;        // per iteration, whole job, no recomputation
  std::vector<GpuTypeShare> gpu_types;     // per GPU type of the job (MFU's denominator)
  std::vector<std::string> sim_gpu_types;  // per simulated GPU: its GPU type
  std::vector<std::string> notes;          // copied to Report::notes
};

Report BuildReport(const ReportContext& context, const ExecGraph& graph, const SimResult& result);

/// FLOPs executed per iteration over the whole job: sum of task FLOPs times GPU multiplicity
/// (recomputed forward work included).
double ExecutedFlops(const ExecGraph& graph);

}  // namespace proteus
