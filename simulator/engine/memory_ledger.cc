#include "simulator/engine/memory_ledger.h"

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace proteus {

MemoryLedger::MemoryLedger(const ExecGraph& graph) : graph_(graph) {
  const size_t n = graph.gpus.size();
  current_.resize(n);
  total_.assign(n, 0);
  static_total_.assign(n, 0);
  memory_.resize(n);
  for (size_t g = 0; g < n; ++g) {
    const SimGpu& gpu = graph.gpus[g];
    memory_[g].capacity = gpu.memory_capacity;
    memory_[g].reserve = gpu.memory_reserve;
    PROTEUS_CHECK(gpu.memory_reserve >= 0 && gpu.fragmentation >= 1, "bad memory reserve or fragmentation on " + gpu.label);
    for (int c = 0; c < kNumMemCategories; ++c) {
      PROTEUS_CHECK(gpu.static_memory[c] >= 0, "negative static memory on GPU " + gpu.label);
      current_[g][c] = gpu.static_memory[c];
      total_[g] += gpu.static_memory[c];
    }
    static_total_[g] = total_[g];
    RaisePeak(static_cast<int>(g), -1, 0);
  }
}

void MemoryLedger::Apply(TaskId t, bool at_end, double now) {
  const Task& task = graph_.tasks[t];
  if (task.mem_count == 0) return;
  const int g = task.gpu;
  bool changed = false;
  for (int32_t i = task.mem_begin; i < task.mem_begin + task.mem_count; ++i) {
    const MemEffect& e = graph_.mem_effects[i];
    if (e.at_end != at_end) continue;
    int64_t& slot = current_[g][static_cast<int>(e.category)];
    slot += e.bytes;
    total_[g] += e.bytes;
    changed = true;
    if (slot < 0) {
      std::ostringstream os;
      os << "memory ledger: task '" << graph_.NameOf(task) << "' on GPU " << graph_.gpus[g].label
         << " frees " << -e.bytes << " bytes of " << MemCategoryName(e.category) << ", leaving " << slot
         << " (the execution graph frees memory it never allocated)";
      throw InternalError(os.str());
    }
  }
  // The peak minus reserve and fragmentation is what was allocated at the peak.
  if (changed && total_[g] > memory_[g].peak - memory_[g].reserve - memory_[g].fragmentation) RaisePeak(g, t, now);
}

void MemoryLedger::RaisePeak(int gpu, TaskId t, double now) {
  GpuMemory& m = memory_[gpu];
  const int64_t dynamic = total_[gpu] - static_total_[gpu];
  const double factor = graph_.gpus[gpu].fragmentation;
  m.fragmentation = dynamic > 0 ? std::llround(static_cast<double>(dynamic) * factor) - dynamic : 0;
  m.peak = total_[gpu] + m.reserve + m.fragmentation;
  m.peak_breakdown = current_[gpu];
  m.peak_time_s = now;
  m.peak_task = t;
  m.oom = m.capacity > 0 && m.peak > m.capacity;
}

std::vector<GpuMemory> MemoryLedger::Result() const {
  std::vector<GpuMemory> out = memory_;
  for (size_t g = 0; g < out.size(); ++g) out[g].final_breakdown = current_[g];
  return out;
}

}  // namespace proteus
