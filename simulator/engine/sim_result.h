// What HTAE hands to the report: the timeline of every task, and per simulated GPU its memory peak
// and its time breakdown. Everything is per simulated GPU; SimGpu::multiplicity says how many real
// GPUs each one stands for.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "simulator/compile/exec_graph.h"

namespace proteus {

/// The memory ledger of one simulated GPU (bytes).
struct GpuMemory {
  int64_t capacity = 0;                               // SimGpu::memory_capacity
  int64_t peak = 0;                                   // sum of the breakdown + reserve + fragmentation
  std::array<int64_t, kNumMemCategories> peak_breakdown{};  // per MemCategory at the first peak
  int64_t reserve = 0;                                // SimGpu::memory_reserve
  int64_t fragmentation = 0;                          // (factor - 1) x task allocations at the peak
  double peak_time_s = 0;                             // when the peak was first reached
  TaskId peak_task = -1;                              // the task whose allocation reached it (-1: static memory)
  std::array<int64_t, kNumMemCategories> final_breakdown{};  // still allocated at the end
  bool oom = false;                                   // peak > capacity (capacity > 0)
};

/// Where the time of one simulated GPU went (seconds). Streams are indexed by StreamKind.
struct GpuTimes {
  std::array<double, kNumStreams> busy_s{};     // time the stream runs a task
  std::array<double, kNumStreams> exposed_s{};  // time the stream runs a task while compute is idle
                                                // (0 for the compute stream itself)
  double exposed_comm_s = 0;   // time any comm stream (tp, dp, pp) is busy while compute is idle
  double compute_work_s = 0;   // sum of duration_s of its compute tasks (time alone)
  double compute_busy_s = 0;   // time its compute stream is busy (>= work when slowed by interference)
  double idle_s = 0;           // makespan minus time any stream is busy
  double last_end_s = 0;       // when its last task ends
};

struct EngineCounters {
  int64_t events = 0;          // events handled
  int64_t stale_events = 0;    // events dropped because their activity was rescheduled
  int64_t tasks = 0;
  int64_t comms = 0;
  int64_t flows = 0;           // flows run through the solver
  int64_t solves = 0;          // solver calls that had work
  int64_t solver_vars = 0;     // variables re-solved, summed over solves
  int64_t interference_updates = 0;  // times a GPU's overlap state changed the rates
};

struct SimResult {
  double makespan_s = 0;             // the iteration time: the last task's end
  std::vector<double> task_start_s;  // indexed by TaskId
  std::vector<double> task_end_s;    // indexed by TaskId
  std::vector<double> comm_start_s;  // indexed by CommId: the rendezvous (latency starts)
  std::vector<GpuMemory> memory;     // indexed by simulated GPU
  std::vector<GpuTimes> times;       // indexed by simulated GPU
  EngineCounters counters;
  bool any_oom = false;
};

}  // namespace proteus
