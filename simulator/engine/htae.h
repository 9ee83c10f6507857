// Internal to engine/: the state of one HTAE run (engine.h has the model and the public entry).
// One Htae object simulates one graph once. The loop is SimGrid's: solve rates -> next event ->
// advance time -> update the activity -> start what became ready.
//
// Files: htae.cc (setup, loop, streams and dependencies), htae_comm.cc (rendezvous, latency, flows),
// htae_overlap.cc (interference), htae_check.cc (graph validation, deadlock diagnosis).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/engine.h"
#include "simulator/engine/event_queue.h"
#include "simulator/engine/flow_folding.h"
#include "simulator/engine/maxmin.h"
#include "simulator/engine/memory_ledger.h"
#include "simulator/engine/sim_result.h"
#include "simulator/engine/stream_clock.h"

namespace proteus {

class Htae {
 public:
  Htae(const ExecGraph& graph, const EngineOptions& options);
  SimResult Run();

 private:
  enum class TaskState : uint8_t { kWaiting, kReady, kRunning, kDone };
  enum class CommPhase : uint8_t { kWaiting, kLatency, kFlows, kLocal, kDone };

  struct CommState {
    int32_t ready = 0;          // member tasks ready (rendezvous when == members.size())
    int32_t flows_left = 0;     // flows still carrying bytes
    int32_t first_flow = -1;    // head of the comm's list of flow slots
    CommPhase phase = CommPhase::kWaiting;
    uint32_t version = 0;       // of its kCommLocalEnd event
    double slowdown = 1;        // interference cap on its flows (max over member GPUs)
    double local_left_s = 0;    // flowless comm: transfer time alone still to run
    double local_last_s = 0;    // when local_left_s was last brought up to date
  };
  struct FlowState {
    CommId comm = -1;
    int32_t next = -1;          // next flow slot of the same comm
    MaxMinSolver::VarId var = -1;  // -1 once finished
    double max_rate = kUnbounded;
    double remaining = 0;       // bytes, as of last_s
    double rate = 0;            // bytes/s since last_s
    double last_s = 0;
    uint32_t version = 0;       // of its kFlowEnd event
  };
  struct RunningCompute {       // a compute task in flight, tracked only with interference
    TaskId task;
    int32_t compute_class;      // its Task::compute_class
    double left_s;              // time alone still to run, as of last_s
    double slowdown;
    double last_s;
  };
  struct HotTask {              // what the loop reads of a task, packed: 16 B instead of ~64 B
    double duration_s;
    CommId comm;
    uint16_t gpu;
    StreamKind stream;
    uint8_t is_compute : 1;     // TaskKind::kCompute (interference applies)
    uint8_t mem_at_start : 1;   // has memory effects applied at its start
    uint8_t mem_at_end : 1;     // ... at its end
  };
  struct GpuOverlap {
    std::vector<RunningCompute> compute;
    std::vector<CommId> comms;  // active comms with a member on this GPU
  };

  // htae.cc
  void BuildSuccessors();
  void Dispatch(const Event& e);
  void MakeReady(TaskId t);
  void StartLocalTask(TaskId t);
  void BeginTask(TaskId t);
  void CompleteTask(TaskId t);
  void ReleaseSuccessors(TaskId t);
  SimResult Collect();

  // htae_comm.cc
  void StartComm(CommId c);
  void StartFlows(CommId c);
  void OnFlowEnd(int32_t slot);
  void OnCommLocalEnd(CommId c);
  void EndComm(CommId c);
  void SyncRates();
  double FlowBound(const FlowState& f, double slowdown) const;
  int32_t AllocFlow();

  // htae_overlap.cc
  bool interference() const { return static_cast<bool>(options_.interference); }
  OverlapFactors Factors(int32_t compute_class, CollOp op);
  double ComputeSlowdown(int gpu, int32_t compute_class);
  void OverlapComputeStart(TaskId t);
  void OverlapComputeEnd(TaskId t);
  void OverlapCommStart(CommId c);
  void OverlapCommEnd(CommId c);
  void RefreshComputeRates(int gpu);
  void RefreshCommSlowdowns(int gpu);
  void SetCommSlowdown(CommId c, double slowdown);
  void BuildCommGpus();
  double CommSlowdownOf(CommId c);

  // htae_check.cc
  [[noreturn]] void ReportDeadlock() const;
  std::string Describe(TaskId t) const;
  std::string WhyNotDone(TaskId t) const;

  const ExecGraph& g_;
  EngineOptions options_;
  double now_ = 0;
  EventQueue events_;
  FlowFolding folding_;               // flows and links as the solver sees them (before solver_)
  MaxMinSolver solver_;
  MemoryLedger ledger_;
  StreamClock clock_;

  std::vector<HotTask> hot_;          // per task
  std::vector<int32_t> succ_begin_;   // CSR: successors of t are succ_[succ_begin_[t] .. succ_begin_[t+1])
  std::vector<TaskId> succ_;
  std::vector<int32_t> pending_;      // per task: unfinished dependencies + stream predecessor
  std::vector<TaskState> state_;
  std::vector<uint32_t> task_version_;  // of its kTaskEnd event
  std::vector<CommState> comms_;
  std::vector<FlowState> flows_;
  std::vector<int32_t> free_flows_;
  std::vector<int32_t> var_flow_;     // solver variable -> flow slot
  std::vector<GpuOverlap> overlap_;
  std::vector<int32_t> comm_gpu_begin_;  // CSR, with interference only: distinct GPUs of each comm
  std::vector<int32_t> comm_gpus_;
  std::vector<std::pair<int64_t, OverlapFactors>> factor_cache_;  // key: compute_class * 8 + op
  int64_t tasks_done_ = 0;

  SimResult result_;
};

}  // namespace proteus
