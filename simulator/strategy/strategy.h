// Strategy tree (proteus.strategy/1): how a model is spread over a device mesh.
//
// Model. A mesh is an ordered list of named axes, outermost first; a GPU's rank is the mixed-radix
// number of its coordinates, innermost axis fastest (Megatron's order: tp fastest, then dp, then pp):
//   mesh [pp 2, dp 2, tp 2]: rank = pp*4 + dp*2 + tp, so ranks {0,1} form a tp group.
// The strategy annotates the module tree. `defaults` apply at the root; each rule of `nodes` names a
// module or operator path glob and the settings it sets. A node's effective settings are its
// parent's, then every rule matching the node's own path, in file order (later wins). Partitions
// merge per op dim (a rule adding {f: tp} keeps an inherited {b: dp}; null removes a dim).
//
// Worked example (Megatron tp 2 on a GPT MLP, dp 2):
//   defaults {partition {b: dp}}; nodes [{match "layers.*.mlp", partition {f: tp}}]
//   layers.0.mlp.fc1 resolves to {b: dp, f: tp}: each GPU computes its dp slice of the batch and its
//   tp slice of the 4h features (column parallel); fc2 has the same dims with f as its reduce dim
//   (row parallel), so its output is a partial sum over tp, which compile/ turns into an all_reduce.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_file.h"
#include "simulator/strategy/dp_method.h"
#include "simulator/strategy/fp8_recipe.h"
#include "simulator/strategy/memory_settings.h"

namespace proteus {

struct MeshAxis {
  std::string name;  // "pp", "dp", "tp", or any name the partitions use
  int size = 1;
};

enum class Recompute { kNone, kSelective, kFull };
std::string_view RecomputeName(Recompute r);  // "none", "selective", "full"
std::optional<Recompute> ParseRecompute(std::string_view name);

/// Pipeline schedules (compile/schedule.h has their block orders): zb-h1 and zb-v split the
/// backward into input-gradient (B) and weight-gradient (W) blocks; zb-v and dualpipev (DeepSeek's
/// "cut-in-half" DualPipe, with F&B pairs) run two chunks per GPU in V placement; dualpipe
/// (DeepSeek's two-direction DualPipe) holds two of the pp stages per GPU, one per direction.
enum class ScheduleKind { kGPipe, k1F1B, kInterleaved, kZbH1, kZbV, kDualPipeV, kDualPipe };
/// "gpipe", "1f1b", "interleaved", "zb-h1", "zb-v", "dualpipev", "dualpipe"
std::string_view ScheduleKindName(ScheduleKind k);
std::optional<ScheduleKind> ParseScheduleKind(std::string_view name);
/// Chunks per GPU a schedule fixes (1, or 2 for the V placement of zb-v and dualpipev); 0 when the user
/// chooses them (interleaved). dualpipe has 1: the model is cut into pp stages (pp x chunks virtual
/// stages, as 1f1b), and each GPU holds two of them (compile/schedule.h RanksOfStage).
int FixedChunks(ScheduleKind k);

struct Schedule {
  ScheduleKind kind = ScheduleKind::k1F1B;
  int chunks = 1;  // virtual pipeline stages per GPU (interleaved: chosen; else FixedChunks(kind))
};

/// What one node (rule or defaults) sets; unset members are inherited.
struct NodeSettings {
  /// op dim name -> mesh axis; nullopt removes an inherited partition of that dim.
  std::map<std::string, std::optional<std::string>> partition;
  /// Tensor layouts along a mesh axis: "" = replicated, "dp" = sharded over axis dp.
  std::optional<std::string> weights, grads, optimizer;
  std::optional<Recompute> recompute;
  std::optional<int> stage;               // pipeline (virtual) stage
  /// Parsed for files written before the top-level key; `true` is refused (DeepSpeed offloads the
  /// whole optimizer: Strategy::offload_optimizer).
  std::optional<bool> offload_optimizer;

  bool Empty() const;
};

struct StrategyRule {
  std::string match;  // glob over dotted paths: `*` one component, `**` any number, `[0-11]` a range
  NodeSettings settings;
};

inline constexpr int64_t kDefaultGradBucketBytes = 25 * 1024 * 1024;  // PyTorch DDP bucket_cap_mb=25

/// How sharded weights (layouts.weights "sharded:<axis>": ZeRO-3, FSDP) are gathered for compute.
/// A unit's parameters are all-gathered before its first operator runs and freed after its last
/// (forward, and again in backward); its gradients are reduce-scattered after its backward, every
/// micro-batch (DeepSpeed ZeRO-3 and FSDP both reduce each micro-batch's gradients).
enum class GatherUnit {
  kOperator,  // DeepSpeed ZeRO-3: each submodule's parameters, fetched as the submodule runs
  kBlock,     // PyTorch FSDP2 fully_shard per top-level module: each transformer layer, the embedding, the head
};
std::string_view GatherUnitName(GatherUnit u);  // "operator", "block"
std::optional<GatherUnit> ParseGatherUnit(std::string_view name);

struct WeightGather {
  GatherUnit unit = GatherUnit::kBlock;
  int prefetch = 1;                   // units gathered ahead of the running one (FSDP2 and ZeRO-3 both 1)
  bool reshard_after_forward = true;  // free after forward, gather again for backward (FSDP2 default)
  /// HSDP (FSDP2 fully_shard over a 2-D mesh (replicate, shard); FSDP1 HYBRID_SHARD): weights,
  /// gradients and optimizer states are sharded over groups of `shard_group` consecutive ranks of
  /// their shard axis and replicated across the axis size / shard_group groups; a unit's gradients
  /// are reduce-scattered in its group, then all-reduced across the groups. 0: the whole axis.
  /// A group size on the one dp axis rather than a second mesh axis: the batch stays partitioned
  /// over one axis, so layouts, buckets and every dp rule are unchanged; only the sharded units'
  /// collectives (compile/mesh.h AxisSpan) and the static memory divisor see it.
  int shard_group = 0;
  bool operator==(const WeightGather&) const = default;
};

struct Strategy {
  std::string origin;                 // file or "shorthand", for messages
  std::vector<MeshAxis> mesh;         // outermost first
  int64_t micro_batch = 1;            // samples per micro-batch per data-parallel rank
  int64_t global_batch = 1;           // samples per iteration over all data-parallel ranks
  Schedule schedule;
  int64_t grad_bucket_bytes = kDefaultGradBucketBytes;
  bool overlap_grad_reduce = true;    // issue each bucket as soon as its last gradient is ready
  /// Which gradients share an all-reduce (dp_method.h): `buckets` (the two fields above), bsp,
  /// wfbp, Horovod fusion, MG-WFBP, the BytePS parameter server. File keys "dp_method",
  /// "fusion_threshold_bytes", "fusion_cycle_ms", "ps_servers", "ps_colocated", "ps_partition_bytes".
  DpReduction dp_reduction;
  /// Distributed optimizer: all-gather the updated parameters during the next forward, each bucket
  /// before its first use, instead of after the optimizer step (Megatron-Core overlap_param_gather,
  /// default off).
  bool overlap_param_gather = false;
  /// Pipeline GEMMs with the tensor-parallel all-gather / reduce-scatter they consume or produce, in
  /// tp chunks (Transformer Engine userbuffers; Megatron-Core tp_comm_overlap, default off; needs
  /// sequence parallelism).
  bool tp_comm_overlap = false;
  /// Pipeline p2p sends run beside compute (true) or the sending rank waits for them (false).
  /// Unset: Megatron-Core's behaviour, overlapped for the interleaved schedule (overlap_p2p_comm,
  /// default on) and blocking for the others (send_forward_recv_backward waits).
  std::optional<bool> overlap_p2p_comm;
  /// DeepSpeed ZeRO-Offload (`zero_optimization.offload_optimizer.device: cpu`): fp32 master weights
  /// and Adam moments in host memory, gradient shards copied to the CPU, Adam on the CPU, updated
  /// 16-bit parameter shards copied back (compile/host_offload.h). Needs ZeRO stage 1 or 2.
  bool offload_optimizer = false;
  /// Megatron-Core activation offload (TransformerConfig cpu_offloading with
  /// cpu_offloading_num_layers = N, cpu_offloading_activations): the saved activations of the first
  /// N transformer layers copied to the CPU after their forward and back before their backward,
  /// as Transformer Engine's cpu_offload does (compile/program_act_offload.cc). 0: off.
  int offload_activations = 0;
  WeightGather weight_gather;         // used where weights are sharded
  /// Expert parallelism (Megatron-Core expert_model_parallel_size), folded into data parallelism:
  /// the routed experts of every MoE layer (model/moe.h) are sharded over groups of
  /// `expert_parallel` consecutive dp ranks (the EP group; an AxisSpan block of the dp axis, as
  /// HSDP's shard group), tokens are dispatched to and combined from their experts' ranks by
  /// all_to_alls in that group, and expert gradients are reduced over the ranks holding the same
  /// experts, one per group (dp / ep: the expert-data-parallel group). Dense parameters are
  /// untouched. Written as an "ep" entry of the mesh, which does not multiply the GPU count. 1: off.
  int expert_parallel = 1;
  Fp8Recipe fp8;                      // "precision": {"fp8", "fp8_scaling"} (fp8_recipe.h)
  PrecisionSettings precision;        // "precision": main gradient and parameter storage dtypes
  MemorySettings memory;              // "memory": reserve, fragmentation, NCCL buffer size
  NodeSettings defaults;              // root settings
  std::vector<StrategyRule> nodes;

  /// Size of a mesh axis; 1 when the mesh has no such axis.
  int AxisSize(std::string_view axis) const;
  bool HasAxis(std::string_view axis) const;
  /// Product of all mesh axis sizes: the GPUs the job uses.
  int MeshGpus() const;
  /// Pipeline ranks (axis "pp") and virtual stages (pp x chunks).
  int PipelineRanks() const { return AxisSize("pp"); }
  int VirtualStages() const { return PipelineRanks() * schedule.chunks; }
  /// Data-parallel degree (axis "dp"): the number of micro-batch replicas.
  int DataParallel() const { return AxisSize("dp"); }
  /// Context-parallel degree (axis "cp", Megatron-Core ring attention): ranks splitting each
  /// sample's sequence; they hold the same weights, so gradients are reduced over dp x cp.
  int ContextParallel() const { return AxisSize("cp"); }
  /// Micro-batches per iteration: global / (micro * dp) (exact when validated).
  int64_t NumMicrobatches() const;
  /// Whether any node shards its weights (ZeRO-3 / FSDP).
  bool ShardsWeights() const;
  /// Whether p2p sends overlap compute, with the schedule's default applied.
  bool OverlapP2P() const { return overlap_p2p_comm.value_or(schedule.kind == ScheduleKind::kInterleaved); }
};

/// Reads a proteus.strategy/1 file. UserError naming the file and field on any problem.
Strategy LoadStrategy(const std::string& path);
/// Parses a strategy document; `origin` names it in errors.
Strategy ParseStrategy(const Json& doc, const std::string& origin);
/// The canonical JSON form (ParseStrategy(StrategyToJson(s)) == s).
Json StrategyToJson(const Strategy& s);

/// "" -> "replicated", "dp" -> "sharded:dp".
std::string LayoutText(const std::string& shard_axis);

}  // namespace proteus
