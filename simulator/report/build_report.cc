#include "simulator/report/build_report.h"

#include <algorithm>

namespace proteus {

double ExecutedFlops(const ExecGraph& graph) {
  double flops = 0;
  for (const Task& t : graph.tasks) flops += t.flops * graph.gpus[t.gpu].multiplicity;
  return flops;
}

namespace {

GpuReport GpuFromResult(const SimGpu& gpu, const GpuMemory& mem, const GpuTimes& times) {
  GpuReport g;
  g.label = gpu.label;
  g.multiplicity = gpu.multiplicity;
  g.peak_memory = mem.peak;
  g.memory_capacity = mem.capacity;
  g.memory_at_peak = mem.peak_breakdown;
  g.memory_reserve = mem.reserve;
  g.memory_fragmentation = mem.fragmentation;
  g.oom = mem.oom;
  g.compute_s = times.compute_busy_s;
  for (int s = 1; s < kNumStreams; ++s) {
    g.exposed_comm_s[s] = times.exposed_s[s];
    g.hidden_comm_s[s] = std::max(0.0, times.busy_s[s] - times.exposed_s[s]);
  }
  g.idle_s = times.idle_s;  // the engine's: makespan minus the time any stream is busy
  g.host_optimizer_bytes = gpu.host_optimizer_bytes;
  g.host_gradient_bytes = gpu.host_gradient_bytes;
  g.host_activation_bytes = gpu.host_activation_bytes;
  return g;
}

}  // namespace

Report BuildReport(const ReportContext& c, const ExecGraph& graph, const SimResult& result) {
  Report r;
  r.model = c.model;
  r.cluster = c.cluster;
  r.strategy = c.strategy;
  r.gpu_type = c.gpu_type;
  r.dtype = c.dtype;
  r.precision = c.precision.empty() ? c.dtype : c.precision;
  r.params = c.params;
  r.gpus = graph.total_gpus;
  r.simulated_gpus = static_cast<int>(graph.gpus.size());
  r.gpu_types = c.gpu_types;
  r.notes = c.notes;
  r.global_batch = c.global_batch;
  r.micro_batches = c.micro_batches;
  r.seq_len = c.seq_len;
  r.image_size = c.image_size;
  r.iteration_time_s = result.makespan_s;
  double t = result.makespan_s;
  if (t > 0) {
    r.samples_per_s = static_cast<double>(c.global_batch) / t;
    r.tokens_per_s = r.samples_per_s * static_cast<double>(std::max<int64_t>(c.seq_len, 1));
    r.model_flops = c.model_flops;
    r.hw_flops = ExecutedFlops(graph);
    r.tflops_per_gpu = c.model_flops / (t * r.gpus) / 1e12;
    r.hw_tflops_per_gpu = r.hw_flops / (t * r.gpus) / 1e12;
    double peak = 0;  // t x every GPU's own peak, summed per type
    for (const auto& type : c.gpu_types) peak += t * static_cast<double>(type.gpus) * type.peak_flops;
    if (peak > 0) r.mfu = c.model_flops / peak;
  }
  double idle_weighted = 0;
  int64_t weight = 0;
  for (size_t i = 0; i < graph.gpus.size(); ++i) {
    GpuReport g = GpuFromResult(graph.gpus[i], result.memory[i], result.times[i]);
    if (i < c.sim_gpu_types.size()) g.gpu_type = c.sim_gpu_types[i];
    idle_weighted += g.idle_s * g.multiplicity;
    weight += g.multiplicity;
    r.oom = r.oom || g.oom;
    r.per_gpu.push_back(std::move(g));
  }
  if (t > 0 && weight > 0) r.bubble_fraction = idle_weighted / weight / t;
  for (const Task& task : graph.tasks) r.cost_sources[static_cast<int>(task.source)]++;
  return r;
}

}  // namespace proteus
