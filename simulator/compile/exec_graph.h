// The execution graph: what compile/ hands to engine/. Per simulated GPU, in-order streams of tasks
// (compute, collective, p2p, copy) with cross-stream dependencies, plus the communications and the
// link capacities their flows share. It knows nothing of models or strategies: names are for
// reports and traces only.
//
// Semantics the engine implements:
//  - a task starts when it is first in its stream, its dependencies have finished, and (for
//    collective/p2p tasks) every member task of its Comm is ready (rendezvous);
//  - a compute or copy task runs for duration_s alone, stretched while it overlaps communication on
//    the same GPU (interference); a Comm waits latency_s, then runs its flows, max-min fair on links;
//    a copy with a Comm (a host copy over PCIe, compile/host_offload.h) runs as that Comm;
//  - memory effects apply at the task's start (allocations, bytes > 0) or end (frees, bytes < 0).
//
// Sizes: ~550k tasks for GPT-3 175B on 1,024 GPUs with symmetry, so a Task is small and names are
// interned.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/dtype.h"
#include "simulator/cost/cost_source.h"
#include "simulator/compile/task_list.h"
#include "topo/collective.h"
#include "topo/ids.h"

namespace proteus {

using TaskId = int32_t;
using CommId = int32_t;

// kPsComm: the BytePS parameter server's push and pull (dp_method ps, compile/ps_server.h), beside
// the NCCL reduce and broadcast inside the node, as in BytePS' pipeline. Its tasks are not issued
// in order: ps-lite keeps many pushes in flight, to different servers at once, so they wait for
// their dependencies only (the compiler orders each server's requests by dependencies).
enum class StreamKind : uint8_t { kCompute, kTpComm, kDpComm, kPpComm, kCopy, kPsComm };
inline constexpr int kNumStreams = 6;
std::string_view StreamName(StreamKind s);  // "compute", "tp_comm", "dp_comm", "pp_comm", "copy", "ps_comm"
/// Whether a stream's tasks run one at a time in issue order (all but kPsComm).
inline constexpr bool InOrder(StreamKind s) { return s != StreamKind::kPsComm; }

enum class TaskKind : uint8_t { kCompute, kCollective, kP2P, kMemcpy };

enum class MemCategory : uint8_t { kWeights, kGradients, kOptimizer, kActivations, kBuffers };
inline constexpr int kNumMemCategories = 5;
std::string_view MemCategoryName(MemCategory c);  // "weights", "gradients", "optimizer", "activations", "buffers"


struct MemEffect {
  MemCategory category;
  bool at_end;        // false: applied when the task starts; true: when it ends
  int64_t bytes;      // > 0 allocates, < 0 frees
};

struct Task {
  TaskKind kind = TaskKind::kCompute;
  StreamKind stream = StreamKind::kCompute;
  Phase phase = Phase::kFwd;
  CostSource source = CostSource::kFixed;
  int32_t gpu = 0;              // index into ExecGraph::gpus (a simulated GPU)
  int32_t name = 0;             // index into ExecGraph::names
  int32_t compute_class = 0;    // index into names: "gemm", "attention", "elementwise", ... (interference)
  int32_t microbatch = -1;      // -1 when not per micro-batch
  double duration_s = 0;        // compute / memcpy time alone; 0 for comm tasks
  int32_t cost_key = -1;        // index into names: the op key duration_s was priced from (-1: none),
                                // so a graph can be re-priced without compiling again (calibrate/)
  float cost_share = 1;         // this task's share of the key's time (a chunk of a pipelined GEMM)
  double flops = 0;             // model FLOPs done by this task (0 for comm); recompute flagged separately
  bool recompute = false;       // recomputed forward work (hardware FLOPs, not model FLOPs)
  CommId comm = -1;             // collective / p2p: its Comm
  int32_t dep_begin = 0, dep_count = 0;  // range in ExecGraph::deps
  int32_t mem_begin = 0, mem_count = 0;  // range in ExecGraph::mem_effects
};

/// One shared empty plan: a Comm starts with it (never null) without allocating one per comm.
const std::shared_ptr<const CollectivePlan>& EmptyPlan();

struct Comm {
  CollOp op = CollOp::kAllReduce;
  StreamKind stream = StreamKind::kDpComm;
  TaskList members;             // one task per simulated participant (inline up to two)
  // Latency, flows, algorithm; plan->time_s is the time alone. Shared by every comm of the same
  // collective (one step of one group, every micro-batch): a graph holds each distinct plan once.
  std::shared_ptr<const CollectivePlan> plan = EmptyPlan();
  int64_t bytes = 0;
  // Which of the GPU's communicators on `stream` it runs on: 0 the stream's own; others are
  // sub-groups with their own NCCL communicator (HSDP's shard group 1, replicate group 2).
  // NCCL buffers are counted per communicator (compile/comm_buffers.h).
  uint8_t communicator = 0;
};

struct SimGpu {
  GpuId global_id = 0;          // in the cluster
  int32_t multiplicity = 1;     // GPUs this one stands for (its symmetry class size)
  int64_t memory_capacity = 0;  // bytes
  std::string label;            // "pp0/tp0/dp0" or similar, for traces
  std::array<int64_t, kNumMemCategories> static_memory{};  // allocated before the first task
  int64_t memory_reserve = 0;   // bytes held outside tensors (CUDA context, workspaces); never freed
  double fragmentation = 1.0;   // allocator reserved/allocated ratio on memory allocated by tasks
  // Host (CPU) memory this GPU's process keeps for it, outside the GPU's capacity: offloaded
  // optimizer states (fp32 master weights, Adam m and v) and the fp32 gradient partition they
  // are stepped from (optimizer offload, compile/host_offload.h). Reported, never checked.
  int64_t host_optimizer_bytes = 0, host_gradient_bytes = 0;
  // Activation offload: pinned host memory for one micro-batch's offloaded activations.
  int64_t host_activation_bytes = 0;
  std::array<std::vector<TaskId>, kNumStreams> streams;     // in issue order
};

struct ExecGraph {
  std::vector<SimGpu> gpus;
  std::vector<Task> tasks;
  std::vector<TaskId> deps;
  std::vector<MemEffect> mem_effects;
  std::vector<Comm> comms;
  std::vector<std::string> names;
  // bytes/s per LinkId of the cluster graph, then the links dp_method ps adds after them (its server
  // hosts' NICs, compile/ps_server.h)
  std::vector<double> link_capacity;
  int total_gpus = 0;                 // GPUs in the job (sum of multiplicities)

  int32_t Intern(std::string_view name);
  /// Appends a task to its GPU's stream; deps and memory effects are given here so ranges stay dense.
  TaskId AddTask(Task task, const std::vector<TaskId>& deps, const std::vector<MemEffect>& mem);
  std::string_view NameOf(const Task& t) const { return names[t.name]; }

 private:
  std::unordered_map<std::string, int32_t> intern_index_;
};

}  // namespace proteus
