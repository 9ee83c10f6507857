// Busy and exposed time per simulated GPU and stream.
//
// Between two consecutive state changes of a GPU (a task starting or ending on one of its streams),
// every busy stream accumulates the interval; a stream other than compute also accumulates it as
// exposed when the compute stream is idle: that is communication (or copy) time the GPU waits for
// instead of hiding it under compute. exposed_comm_s counts the union of the tp/dp/pp streams, so two
// comms exposed at once are counted once.
//
// Example: compute busy [0, 4), tp_comm busy [3, 6): busy compute 4, tp 3; exposed tp = [4, 6) = 2.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"

namespace proteus {

class StreamClock {
 public:
  explicit StreamClock(int num_gpus);
  void Begin(int gpu, StreamKind stream, double now);
  void End(int gpu, StreamKind stream, double now);
  /// Fills busy_s, exposed_s, exposed_comm_s, compute_busy_s, idle_s of `times` (one per GPU).
  void Finish(double makespan_s, std::vector<GpuTimes>* times);

 private:
  struct State {
    std::array<int32_t, kNumStreams> running{};
    uint32_t busy = 0;    // bit s set while stream s runs a task: Advance visits only those
    double last_s = 0;
    double active_s = 0;  // time any stream is busy
  };
  void Advance(int gpu, double now);

  std::vector<State> state_;
  std::vector<GpuTimes> times_;
};

}  // namespace proteus
