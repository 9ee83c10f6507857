// --dump-graph: the execution graph as text, so a surprising prediction can be traced to its tasks.
#include <ostream>

#include "common/units.h"
#include "simulator/compile/compile.h"

namespace proteus {

void DumpGraph(const ExecGraph& g, std::ostream& out, int max_per_stream) {
  out << "execution graph: " << g.gpus.size() << " simulated GPUs for " << g.total_gpus << " GPUs, "
      << g.tasks.size() << " tasks, " << g.comms.size() << " communications\n";
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    const SimGpu& gpu = g.gpus[i];
    out << "gpu " << i << " (" << gpu.label << ", global " << gpu.global_id << ", x" << gpu.multiplicity
        << ", capacity " << FormatBytes(gpu.memory_capacity) << ")  static:";
    for (int c = 0; c < kNumMemCategories; ++c)
      out << " " << MemCategoryName(static_cast<MemCategory>(c)) << " " << FormatBytes(gpu.static_memory[c]);
    out << "\n";
    for (int s = 0; s < kNumStreams; ++s) {
      const auto& q = gpu.streams[s];
      if (q.empty()) continue;
      out << "  stream " << StreamName(static_cast<StreamKind>(s)) << ": " << q.size() << " tasks\n";
      for (size_t k = 0; k < q.size() && static_cast<int>(k) < max_per_stream; ++k) {
        const Task& t = g.tasks[q[k]];
        out << "    #" << q[k] << " " << g.NameOf(t);
        if (t.microbatch >= 0) out << " mb" << t.microbatch;
        if (t.comm >= 0) {
          const Comm& c = g.comms[t.comm];
          out << "  [" << CollOpName(c.op) << " " << FormatBytes(c.bytes) << ", " << c.plan->algo << ", "
              << FormatSeconds(c.plan->time_s) << "]";
        } else {
          out << "  " << FormatSeconds(t.duration_s) << " (" << CostSourceName(t.source) << ")";
        }
        if (t.recompute) out << " recompute";
        if (t.dep_count > 0) {
          out << "  after";
          for (int d = 0; d < t.dep_count; ++d) out << " #" << g.deps[t.dep_begin + d];
        }
        for (int m = 0; m < t.mem_count; ++m) {
          const MemEffect& e = g.mem_effects[t.mem_begin + m];
          out << "  " << MemCategoryName(e.category) << (e.bytes > 0 ? " +" : " -")
              << FormatBytes(e.bytes > 0 ? e.bytes : -e.bytes) << (e.at_end ? "@end" : "@start");
        }
        out << "\n";
      }
      if (static_cast<int>(q.size()) > max_per_stream) out << "    ... " << q.size() - max_per_stream << " more\n";
    }
  }
}

}  // namespace proteus
