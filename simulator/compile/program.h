// Stage programs: what one pipeline (virtual) stage runs for one micro-batch, built once and
// instantiated per micro-batch and per simulated rank by compile.cc.
//
// Model. A program is two lists of steps, forward and backward. A step is a compute task (one
// operator phase, local sizes, priced once), a collective (a layout conversion along one mesh axis,
// or a gradient bucket), or a p2p send to another stage. Dependencies are step indices inside the
// list, or channels: a tensor (or its gradient) crossing stages, sent by one stage's step and
// awaited by another's. Forward, per operator in order: for each input, the conversions its layout
// needs (layout.h), the compute step, sends for outputs other stages read. Backward, in reverse:
// recomputation when the operator closes a recompute region, for each output the gradients from its
// consumers converted to the layout it expects, bwd_data and bwd_weight steps, sends of input
// gradients to earlier stages, and data-parallel gradient buckets (issued in the last micro-batch
// only) as soon as their last gradient is written.
// Sharded weights (ZeRO-3 / FSDP, weight_units.h) add, per gather unit, an all_gather before the
// unit's forward and (resharded) again before its backward, `prefetch` units ahead, and a
// reduce_scatter of its gradients after its backward, every micro-batch; under HSDP
// (weight_gather.shard_group) the gathers and scatters span the shard group (mesh.h AxisSpan) and
// an all_reduce of the scattered shard across the groups follows each reduce_scatter. The distributed
// optimizer's parameter all_gathers run after the optimizer step (the rank's tail), or, with
// overlap_param_gather, at the start of the first micro-batch's forward, each bucket before the
// first operator that reads it (the next iteration's forward, by steady state). Weights shared by
// several pipeline ranks (tied embeddings) get their gradients all-reduced across those ranks
// before the optimizer step, as Megatron's embedding group does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "simulator/compile/exec_graph.h"
#include "simulator/compile/layout.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/op_cost.h"
#include "simulator/model/module.h"
#include "simulator/strategy/resolve.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

class DeviceMesh;

/// A step of host offload (host_offload.h): a copy between the GPU and its CPU, or CPU Adam.
/// Optimizer offload: kGradToHost, kCpuAdam, kParamsToDevice; activation offload (Megatron-Core /
/// Transformer Engine cpu_offload, program_act_offload.cc): kActToHost, kActToDevice.
enum class HostOp : uint8_t { kNone, kGradToHost, kCpuAdam, kParamsToDevice, kActToHost, kActToDevice };
/// Whether a host copy goes from the GPU to the CPU (else back).
inline bool CopiesToHost(HostOp op) { return op == HostOp::kGradToHost || op == HostOp::kActToHost; }

struct Step {
  TaskKind kind = TaskKind::kCompute;
  StreamKind stream = StreamKind::kCompute;
  Phase phase = Phase::kFwd;
  int32_t name = 0;            // interned in the graph
  int32_t compute_class = 0;   // interned
  CostSource source = CostSource::kFixed;
  double duration_s = 0;
  int32_t cost_key = -1;       // interned op key the duration was priced from (-1: none)
  float cost_share = 1;        // share of the key's time (chunks of a pipelined GEMM)
  double flops = 0;
  bool recompute = false;
  bool last_microbatch_only = false;  // gradient buckets: once per iteration
  bool first_microbatch_only = false; // overlapped parameter all-gathers, fp8 weight casts: once per iteration
  // Collectives and p2p.
  CollOp op = CollOp::kAllReduce;
  int axis = -1;               // mesh axis of a collective
  AxisSpan span;               // the part of the axis it spans (HSDP's shard or replicate group)
  std::vector<int> pp_peers;   // a collective across pipeline ranks (tied embeddings): its ranks
  int userbuffer_pieces = 0;   // pipelined tp pieces this collective stands for (tp_overlap.h): their
                               // start-up replaces NCCL's launch latency
  int64_t bytes = 0;
  DType dtype = DType::kBf16;
  int peer_stage = -1;         // p2p: the virtual stage receiving
  int send_channel = -1;       // p2p: the channel this send fills
  std::vector<int32_t> deps;   // earlier steps of the same list
  std::vector<int32_t> channels;  // channels awaited (tensors from other stages)
  std::vector<MemEffect> mem;
  // Optimizer offload: a memcpy step priced per GPU at instantiation (host_offload.h); `bytes` is
  // the copy's size, `host_params` the parameters CPU Adam updates.
  HostOp host_op = HostOp::kNone;
  int64_t host_params = 0;
  // dp_method ps: this collective is the parameter server's push and pull of one tensor among the
  // node roots (compile/ps_server.h prices it); its first piece is piece `ps_first_piece` of the
  // stage's round-robin over the servers.
  bool ps_push_pull = false;
  int64_t ps_first_piece = 0;
};

/// A collective step with op sendrecv over a mesh axis is a ring shift (ring_shift.h): each member
/// sends `bytes` to its successor on the axis, as context parallelism's K/V exchange does.
inline bool IsRingShift(const Step& st) { return st.kind == TaskKind::kCollective && st.op == CollOp::kSendRecv; }

struct StageProgram {
  int stage = 0;               // virtual stage
  std::vector<Step> forward, backward;
};

/// Per pipeline rank, after every block: the optimizer step and ZeRO parameter gathers.
struct TailStep {
  Step step;
};

/// Weight memory and gradient buckets of one pipeline rank (all its chunks).
struct RankState {
  int64_t weight_bytes = 0, grad_bytes = 0, optimizer_bytes = 0;  // static_memory.h
  int64_t fp8_weight_bytes = 0;  // cached fp8 weight copies + transposes (weights category; fp8_gemm.h)
  int64_t step_grad_copy_bytes = 0;  // allocated by the optimizer step only (16-bit main grads)
  // Optimizer offload (strategy offload_optimizer): CPU memory per GPU instead of optimizer_bytes
  // and step_grad_copy_bytes: fp32 master weights + Adam m, v, and the fp32 gradient shard.
  int64_t host_optimizer_bytes = 0, host_grad_bytes = 0;
  // Activation offload: pinned CPU memory for one micro-batch's offloaded activations (the sum over
  // the offloaded layers; pp 1 runs one micro-batch's forward and backward at a time).
  int64_t host_activation_bytes = 0;
  int64_t step_params = 0;     // parameters this rank's optimizer updates (after sharding)
  DType step_dtype = DType::kBf16;
  std::vector<Step> tail;      // after the last block: optimizer step, then parameter all_gathers
};

/// Everything compile.cc needs to instantiate a job.
struct JobProgram {
  std::vector<StageProgram> stages;  // per virtual stage
  std::vector<RankState> ranks;      // per pipeline rank
  int num_channels = 0;
  std::vector<int> channel_sender_stage;  // per channel
  double model_flops_per_microbatch = 0;  // all ranks, one micro-batch, fwd + bwd (no recompute)
};

struct ProgramInputs {
  const Model* model = nullptr;
  const Strategy* strategy = nullptr;
  const ResolvedModel* resolved = nullptr;  // validated
  const DeviceMesh* mesh = nullptr;
  const OpCoster* coster = nullptr;
  /// Seconds of an all-reduce of `bytes` (`dtype`) over mesh axis `axis` of rank 0's group, alone,
  /// from the cluster's collective model: MG-WFBP's alpha-beta fit (grad_grouping.h). Empty (tests
  /// building programs without a cluster): dp_method mgwfbp is refused.
  std::function<double(int axis, int64_t bytes, DType dtype)> all_reduce_time;
  /// dp_method ps: data-parallel ranks per worker node (consecutive ranks share a node), the group of
  /// BytePS' reduce and broadcast inside the node.
  int dp_ranks_per_node = 1;
};

/// Builds every stage's program. Names and compute classes are interned into `graph`.
JobProgram BuildJobProgram(const ProgramInputs& in, ExecGraph& graph);

/// ZeRO's K (Rajbhandari et al. 2020, sec. 3.1): fp32 master weights, Adam m and v, 4 + 4 + 4 bytes
/// per parameter. Static memory follows the strategy's precision settings (static_memory.h).
inline constexpr int64_t kAdamStateBytesPerParam = 12;


}  // namespace proteus
