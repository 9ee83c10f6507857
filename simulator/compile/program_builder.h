// The builder of stage programs (program.h), shared by the files that implement it, one part of
// the job each: program.cc (analysis, stage assembly, pricing), program_forward.cc (forward steps,
// activation memory, recomputation), program_backward.cc (gradients, sends), program_grad_buckets.cc
// (data-parallel buckets, overlapped parameter gathers), program_sharding.cc (ZeRO-3 / FSDP gather
// units, tied weights), program_tp_overlap.cc (pipelined tp communication, tp_overlap.h),
// program_rank_state.cc (static memory, the optimizer step). Internal to simulator/compile.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "simulator/compile/program.h"
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include "common/error.h"
#include "simulator/compile/fp8_gemm.h"
#include "simulator/compile/grad_grouping.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/tp_overlap.h"
#include "simulator/compile/weight_units.h"
#include "simulator/compile/schedule.h"
#include "simulator/compile/static_memory.h"
#include "simulator/model/backward.h"
#include "simulator/strategy/validate.h"

namespace proteus::program_build {

struct OpInfo {
  const ResolvedOp* r = nullptr;
  Operator local;                       // local sizes
  AxisPartition part;
  int stage = 0;
  bool core = false;                    // attention core (selective recompute unit)
  bool fp8 = false;                     // Transformer Engine fp8 GEMM (fp8_gemm.h)
  Recompute mode = Recompute::kNone;
  std::string region;
  int layer = -1;                       // i of a "layers.<i>." path (transformer block), else -1
  std::vector<Operator> bwd;            // derived from `local`
};

struct TensorInfo {
  int producer = -1, out_index = -1;
  std::vector<int> consumers;           // op indices, in order
};

struct Bucket {
  std::vector<int> axes;                // mesh axes the gradients are partial over
  int shard_axis = -1;                  // optimizer shard axis (reduce_scatter there)
  int64_t bytes = 0;
  int64_t params = 0;                   // local parameters (bytes / their dtype's size)
  std::vector<int> ops;                 // operators whose weight gradients it holds
  AxisSpan span;                        // expert gradients under expert parallelism: across EP groups
};

// A weight's gradient waiting for its data-parallel method (strategy/dp_method.h) to group it:
// one tensor's share of a bucket, the bucket key it would join, its weight-gradient step.
struct PendingGrad {
  std::tuple<std::vector<int>, int, bool> key;
  Bucket piece;
  int wgrad_step = -1;
};

// The parameters one gather unit of sharded weights all-gathers (weight_units.h).
struct UnitPlan {
  std::string name;
  std::vector<size_t> ks;               // positions in the stage's operator list, in order
  int axis = -1;                        // shard axis
  int64_t bytes = 0;                    // unsharded local weight bytes: the all_gather size
  DType dtype = DType::kBf16;
  std::set<std::string> weights;
  int fwd_gather = -1, fwd_last = -1;   // forward list: its all_gather, its last compute step
  int bwd_gather = -1, bwd_first = -1, bwd_last = -1;  // backward list
};

// A distributed-optimizer parameter all_gather moved into the next forward (overlap_param_gather).
struct ParamGather {
  int axis = -1;
  AxisSpan span;
  int64_t bytes = 0;
  std::vector<int> ops;
  int id = 0;
};

inline bool IsCore(const Operator& op) {
  // A router's top-k softmax (model/moe.h, attrs top_k) is no part of the attention core.
  return op.kind == OpKind::kAttention || op.kind == OpKind::kBatchedMatmul ||
         (op.kind == OpKind::kSoftmax && !op.attrs.count("top_k")) ||
         (op.kind == OpKind::kDropout && op.FindDim("t") != nullptr);
}

inline std::string BaseName(const std::string& saved) { return saved.substr(0, saved.find('#')); }

class ProgramBuilder {
 public:
  ProgramBuilder(const ProgramInputs& in, ExecGraph& g) : in_(in), s_(*in.strategy), mesh_(*in.mesh), g_(g) {}

  JobProgram Build();

 private:
  // ---- analysis: local ops, partitions, dataflow ----
  void Analyze();

  const Operator& Global(int i) const { return *ops_[i].r->op; }

  int64_t GlobalBytes(int i, const TensorUse& t) const;

  TensorLayout Layout(int i, const TensorUse& t, LayoutUse use) const {
    return LayoutOf(ops_[i].local, ops_[i].part, t.axes, use, mesh_.NumAxes());
  }

  TensorLayout WriteLayoutOf(const std::string& tensor) const;

  StreamKind StreamOfAxis(int axis) const {
    return mesh_.AxisName(axis) == "dp" ? StreamKind::kDpComm : StreamKind::kTpComm;
  }

  int Channel(const std::string& tensor, bool forward, int other_stage, int sender_stage);

  static int Add(std::vector<Step>& list, Step s);

  // One collective step over mesh axis `axis` (its stream; -1: none, the caller sets it), named `name`.
  Step CollectiveStep(CollOp op, int axis, int64_t bytes, DType dtype, Phase phase, const std::string& name);

  // Collectives converting a tensor; returns the last step, or -1 when none were needed.
  int EmitConversions(std::vector<Step>& list, const std::vector<Conversion>& convs, const std::string& what,
                      DType dtype, Phase phase, bool recompute, std::vector<int32_t> deps,
                      std::vector<int32_t> channels);

  // ---- expert parallelism (program_experts.cc) ----
  // Whether the dataflow edge producer -> consumer crosses a token dispatch (permute -> routed
  // expert) or combine (routed expert -> unpermute) under expert parallelism (ep > 1).
  bool CrossesExperts(int producer, int consumer) const;
  // The all_to_all over the EP group moving tensor `t` (as op `i` reads or writes it) between the
  // token-owning and the expert-owning ranks; returns its step.
  int EmitExpertAllToAll(std::vector<Step>& list, int i, const TensorUse& t, const std::string& what, Phase phase,
                         bool recompute, std::vector<int32_t> deps, std::vector<int32_t> channels);
  // How many ranks share op i's weights by expert parallelism: ep for routed experts, else 1.
  int ExpertShards(int i) const;
  // The span of the dp axis expert gradients are reduced over (the expert-data-parallel group).
  AxisSpan ExpertGradSpan() const { return {s_.expert_parallel, true}; }

  // ---- context parallelism (program_context.cc) ----
  // The cp mesh axis, -1 without one.
  int CpAxis() const;
  // Whether op i is an attention core whose queries are split over cp > 1 (ring attention).
  bool RingAttention(int i) const;
  // Bytes of the K/V block one ring step sends: 2 x b x s x g x d x dtype, local sizes.
  int64_t RingKvBytes(int i) const;
  // Op i's attention over one ring step's block: the causal diagonal, or half a block unmasked.
  Operator RingBlock(int i, bool diagonal) const;
  // Ring step j's compute, priced from its block.
  Step RingBlockStep(int i, Phase phase, const Operator* derived, bool recompute, int j);
  // Op i's `phase` as cp block steps with the K/V (and dK/dV) sends around the ring; `first` holds
  // the deps, channels and memory of the whole op. Returns the step that ends it.
  int EmitRingAttention(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                        Step first);
  // Whether a bucket's gradients are partial over cp (and dp only besides).
  bool ReducesOverContext(const Bucket& b) const;

  // A chunk of a pipelined GEMM (tp_overlap.h) takes its share of the whole.
  Step ComputeStep(int i, Phase phase, const Operator* derived, bool recompute, ChunkOf chunk = {});
  // A compute-stream step of `phase` taking `share` of what the coster priced (c), with its source,
  // cost key and compute class interned; the caller names it and sets its FLOPs.
  Step PricedStep(const TaskCost& c, Phase phase, double share = 1);

  // ---- tensor-parallel communication overlap (tp_overlap.h) ----
  struct PipelinedComm {
    Conversion conv;
    std::string tensor;
    DType dtype = DType::kBf16;
    std::vector<int32_t> deps, chans;   // what the communication waits for
    std::string cache_key;              // forward: where the converted tensor is cached
  };

  // A single tp all_gather / reduce_scatter next to GEMM op i that can be pipelined with it.
  std::optional<Conversion> Pipelinable(int i, const std::vector<Conversion>& convs, CollOp op) const;

  // Pieces first..first+count-1 of `of` as one collective of `bytes` (through userbuffers).
  int EmitPieces(std::vector<Step>& list, const PipelinedComm& pc, int64_t bytes, int first, int count, int of,
                 Phase phase, bool recompute, std::vector<int32_t> deps, std::vector<int32_t> chans);

  // The all_gather of n - 1 pieces pipelined with op i's `phase` in n chunks (tp_overlap.h).
  // Returns the last chunk; `gathered` is set to the gather.
  int EmitGatherPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                          const Step& first, const PipelinedComm& pc, int* gathered);

  // Op i's `phase` in n chunks pipelined with the reduce_scatter of the output (tp_overlap.h).
  // Returns the last chunk; `scattered` is set to the last piece.
  int EmitScatterPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                           const Step& first, const PipelinedComm& pc, int* scattered);

  // Forward: an output of op i that a consumer of this stage reduce-scatters over tp.
  std::optional<PipelinedComm> ScatterAfterForward(int stage, int i) const;

  // Backward: an input gradient of op i that its producer (this stage) needs reduce-scattered over tp.
  std::optional<PipelinedComm> ScatterAfterBackward(int stage, int i) const;

  // Transformer Engine's cast kernels before an fp8 GEMM phase, awaiting what the GEMM awaits.
  void EmitFp8Casts(std::vector<Step>& list, int i, Phase phase, bool recompute, const std::vector<int32_t>& deps,
                    const std::vector<int32_t>& chans);

  // ---- activation memory ----
  struct SavedPlan {
    int64_t fwd_bytes = 0;       // allocated by the forward step, freed by the last backward step
    int64_t recompute_bytes = 0; // allocated by the recompute step
    std::set<std::string> regather;  // inputs kept sharded and gathered again for backward
  };

  int64_t SavedTensorBytes(int i, const SavedTensor& st, const std::map<std::string, int64_t>& gather_factor) const;

  // ---- stage programs ----
  struct StageState {
    int v = 0;
    std::vector<int> ops;                         // op indices in this stage
    std::map<int, int> fwd_step, bwd_data_step;   // op -> step
    std::map<std::string, int> conv_cache;        // tensor|layout -> last conversion step (forward)
    std::set<std::string> allocated;              // saved names already allocated in forward
    std::map<int, SavedPlan> saved;
    std::map<std::string, int64_t> region_input_bytes;
    std::set<std::string> sent_grad;              // tensors whose gradient was sent back
    std::set<std::string> bucketed;               // weights already in a bucket
    // (partial axes, optimizer shard axis, expert gradients) -> the bucket filling up
    std::map<std::tuple<std::vector<int>, int, bool>, Bucket> open;
    std::vector<PendingGrad> pending;             // every gradient, in production order (dp_method != buckets)
    std::vector<UnitPlan> units;                  // sharded-weight gather units, in execution order
    std::map<size_t, int> unit_of;                // stage position -> unit
    int next_fwd_gather = 0, next_bwd_gather = -1;
    std::vector<ParamGather> param_gathers;       // overlapped with the first forward
    std::map<std::pair<std::string, int>, int> grad_scattered;  // (tensor, consumer) -> last pipelined piece
    // Activation offload (program_act_offload.cc), per offloaded layer (group) g: its bytes, its
    // copy to the host and back (forward / backward list steps), the count of groups whose offload
    // has been synchronized (forward) or not yet reloaded (backward), as TE's offloaded_group_count.
    std::vector<int64_t> group_bytes;
    std::vector<int> group_d2h, group_h2d;
    int offloaded_groups = 0;
  };

  StageProgram BuildStage(int v);

  bool InFullRegion(int i) const { return ops_[i].mode == Recompute::kFull; }
  bool SelectiveCore(int i) const { return ops_[i].mode == Recompute::kSelective && ops_[i].core; }

  void PlanSaved(StageState& st, int i);

  bool FirstOfRegion(const StageState& st, size_t k) const;
  bool LastOfRun(const StageState& st, size_t k, bool selective) const;

  // Bytes of the tensors a full-recompute region reads from outside itself (kept instead of its
  // activations).
  int64_t RegionInputBytes(const StageState& st, size_t k0);

  // One forward operator: input conversions, the compute step, sends. `scope` (recompute) holds the
  // ops being recomputed together; inputs from outside it are the kept ones (no dependency).
  void EmitForwardOp(StageState& st, std::vector<Step>& list, int i, bool recompute, std::map<int, int>& op_step,
                     std::map<std::string, int>& cache, const std::set<int>* scope, std::vector<MemEffect> mem);

  void EmitSend(std::vector<Step>& list, const std::string& tensor, bool forward, int from, int to, int64_t bytes,
                DType dtype, int dep, Phase phase);

  void EmitForward(StageState& st, std::vector<Step>& list, int i, size_t k);

  void EmitRecompute(StageState& st, std::vector<Step>& list, size_t k_last, bool selective);

  static int LastCompute(const std::vector<Step>& list);

  // Gradients of op i's outputs, converted to the layout op i expects; returns deps and channels.
  // A gradient all-gather that op i's data gradient can pipeline is returned in `gather` instead.
  void GatherOutputGrads(StageState& st, std::vector<Step>& list, int i, std::vector<int32_t>& deps,
                         std::vector<int32_t>& chans, std::optional<PipelinedComm>* gather);

  void EmitBackward(StageState& st, std::vector<Step>& list, int i, size_t k);

  void SendInputGrads(StageState& st, std::vector<Step>& list, int i);

  // ---- data-parallel gradient reduction ----
  void AddToBuckets(StageState& st, std::vector<Step>& list, int i, int wgrad_step);

  void FlushBuckets(StageState& st, std::vector<Step>& list, int dep);

  void EmitBucket(StageState& st, std::vector<Step>& list, const Bucket& b, int dep);
  // A bucket partial over cp (program_context.cc): its reduction over dp x cp, two-level, and its
  // parameter gathers after the optimizer step.
  void EmitContextBucket(StageState& st, std::vector<Step>& list, const Bucket& b, int dep, int id);

  // ---- data-parallel methods other than buckets (program_dp_methods.cc, grad_grouping.h) ----
  // Groups st.pending by the strategy's dp_method and emits one bucket per group, after the
  // backward's steps, each waiting for its last gradient (bsp: for `backward_end`).
  void EmitDpMethodGroups(StageState& st, std::vector<Step>& list, int backward_end);
  // dp_method ps: per tensor (bucket, the step it waits for), in production order, BytePS' reduce
  // inside the node, push and pull with the servers, broadcast inside the node.
  void EmitPsTensors(std::vector<Step>& list, const std::vector<std::pair<Bucket, int>>& tensors);
  // The groups of one key's gradients (positions in `grads`); ready times from the compute stream.
  std::vector<GradGroup> GroupGradients(const std::vector<GradReady>& grads, const Bucket& first) const;
  // MG-WFBP's alpha and beta: the collective model's all-reduce over the bucket's axes, fitted
  // between the smallest gradient and their sum (grad_grouping.h FitAlphaBeta).
  AlphaBeta FitDpAlphaBeta(const Bucket& b, const std::vector<GradReady>& grads) const;
  // Horovod's wait for its next cycle: a host step of `seconds` after list step `dep`; its index.
  int AddCycleWait(std::vector<Step>& list, double seconds, int dep);

  // ---- sharded weights (ZeRO-3 / FSDP) ----
  int UnitAt(const StageState& st, size_t k) const;

  void PlanUnits(StageState& st);

  // A unit's all_gather or reduce_scatter over its shard axis (HSDP: over the shard group).
  Step UnitCollective(const UnitPlan& u, CollOp op, Phase phase, const std::string& what);

  // HSDP: the all_reduce of a unit's reduce-scattered gradient shard across the shard groups.
  Step ReplicaAllReduce(const UnitPlan& u);

  // Gathers up to `prefetch` units past `u`; each is issued once the unit `prefetch` + 1 before it
  // has finished (FSDP2 issues the next unit's all_gather when a unit's forward starts).
  void EmitForwardGathers(StageState& st, std::vector<Step>& list, int u);

  static int FirstComputeFrom(const std::vector<Step>& list, size_t from);

  void AfterUnitForwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new);

  // Backward runs units in reverse: unit g's gather waits for unit g + prefetch + 1's backward.
  void EmitBackwardGathers(StageState& st, std::vector<Step>& list, int u);

  void AfterUnitBackwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new);

  // ---- overlapped distributed-optimizer parameter gathers ----
  // Puts the gathers before the forward's steps (first micro-batch only), first layers first, and
  // makes the first operator reading a bucket's weights wait for its gather.
  void PrependParamGathers(StageState& st, std::vector<Step>& forward);

  // ---- weights shared across pipeline ranks ----
  // Megatron's embedding group: the word embedding's gradient (fp32 main grad) is all-reduced
  // between the first and last pipeline ranks before the optimizer step.
  // Also, first, dualpipe's sum of the two copies of each stage (CopyGradientSum).
  std::vector<Step> TiedGradientReductions(int p);
  // dualpipe: pipeline rank p and its mirror pp-1-p, ascending, which hold the same two stages;
  // empty for every other schedule.
  std::vector<int> CopyPair(int p) const;
  // dualpipe: the all-reduce over `pair` of rank p's gradients (both its stages).
  Step CopyGradientSum(int p, const std::vector<int>& pair);

  void FindTiedWeights();

  // ---- static memory and the optimizer step ----
  void AccountWeights(StageState& st);
  void AccountWeightsOn(const StageState& st, int rank);

  void BuildTail(int p);
  static void AppendParamGathers(const std::vector<Step>& gathers, int32_t step, std::vector<Step>& tail);

  // ---- optimizer offload (program_offload.cc; host_offload.h prices the steps) ----
  // After a bucket's reduce-scatter (list step `reduced`), the copy of its fp32 gradient shard to
  // the CPU, on the copy stream while backward goes on.
  void AddGradToHost(std::vector<Step>& list, const Bucket& b, int id, int reduced);
  // In place of the GPU's optimizer step (tail step `step_index`): CPU Adam, then the copy of the
  // updated parameter shard back to the GPU; returns the index of that copy.
  int32_t AddOffloadedStep(const RankState& rs, std::vector<Step>& tail);

  // ---- activation offload (program_act_offload.cc; host_offload.h prices the copies) ----
  // Whether a saved tensor of op i is one Transformer Engine offloads.
  bool OffloadsSaved(int i, const SavedTensor& sv) const;
  // Transformer Engine's layer_window_map: the layer at whose forward commit group g's offload is
  // synchronized (and freed), and at whose backward start group g is reloaded.
  int OffloadWindow(int g) const;
  // After layer l's forward steps (the group commit): the first group's copy, a window's sync.
  void AfterLayerForward(StageState& st, std::vector<Step>& list, int layer);
  // Before layer l's backward steps: a window's reload, the wait for every reload before layer 0.
  void BeforeLayerBackward(StageState& st, std::vector<Step>& list, int layer);
  // Whether op position k of the stage is the last (forward) of its layer.
  bool LastOfLayer(const StageState& st, size_t k) const;

  const ProgramInputs& in_;
  const Strategy& s_;
  const DeviceMesh& mesh_;
  ExecGraph& g_;
  JobProgram job_;
  std::vector<OpInfo> ops_;
  std::unordered_map<std::string, TensorInfo> tensors_;
  std::vector<int> axis_sizes_;
  std::vector<std::string> axis_names_;
  std::map<std::string, int> channels_;
  std::vector<int> channel_sender_;
  int bucket_count_ = 0;
  int tp_overlaps_ = 0;  // GEMMs pipelined with their tp communication
  struct TiedWeight {
    std::vector<int> ranks;  // pipeline ranks holding a copy
    int64_t params = 0;      // local parameters of one copy
  };
  std::map<std::string, TiedWeight> tied_weights_;
  std::map<int, std::set<std::string>> weights_of_rank_;  // weights already counted per pipeline rank
};

}  // namespace proteus::program_build
