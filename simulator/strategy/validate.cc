#include "simulator/strategy/validate.h"

#include <set>

#include "common/checked_math.h"
#include "common/error.h"
#include "simulator/strategy/glob.h"

namespace proteus {
namespace {

std::string MeshText(const Strategy& s) {
  std::string t;
  for (const auto& a : s.mesh) t += (t.empty() ? "" : " x ") + a.name + "=" + std::to_string(a.size);
  return t.empty() ? "(empty mesh)" : t;
}

std::string AxisList(const Strategy& s) {
  std::string t;
  for (const auto& a : s.mesh) t += (t.empty() ? "" : ", ") + a.name;
  return t;
}

void CheckAxis(const Strategy& s, const std::string& where, const std::string& axis) {
  if (!s.HasAxis(axis))
    throw UserError(s.origin, where + ": unknown mesh axis '" + axis + "' (mesh axes: " + AxisList(s) + ")");
  if (axis == "pp")
    throw UserError(s.origin, where + ": pp is the pipeline axis; operators are split over it by stage, "
                                      "not by partition");
}

void CheckSettings(const Strategy& s, const NodeSettings& n, const std::string& where) {
  for (const auto& [dim, axis] : n.partition)
    if (axis) CheckAxis(s, where + ".partition." + dim, *axis);
  if (n.weights && !n.weights->empty()) CheckAxis(s, where + ".layouts.weights", *n.weights);
  if (n.grads && !n.grads->empty()) CheckAxis(s, where + ".layouts.grads", *n.grads);
  if (n.optimizer && !n.optimizer->empty()) CheckAxis(s, where + ".layouts.optimizer", *n.optimizer);
  if (n.offload_optimizer && *n.offload_optimizer)
    throw UserError(s.origin, where + ".offload.optimizer: optimizer offload is per job, not per module (DeepSpeed "
                                      "offloads every parameter group): set the top-level \"offload_optimizer\": true");
}

void CheckMeshAndBatch(const Strategy& s, int cluster_gpus) {
  for (const auto& a : s.mesh)
    if (a.size < 1) throw UserError(s.origin, "mesh axis " + a.name + " must be >= 1");
  if (s.MeshGpus() > cluster_gpus)
    throw UserError(s.origin, "mesh " + MeshText(s) + " needs " + std::to_string(s.MeshGpus()) +
                                  " GPUs but the cluster has " + std::to_string(cluster_gpus));
  int64_t per_step = s.micro_batch * s.DataParallel();
  if (s.global_batch % per_step != 0)
    throw UserError(s.origin, "global_batch " + std::to_string(s.global_batch) + " is not divisible by micro_batch " +
                                  std::to_string(s.micro_batch) + " x dp " + std::to_string(s.DataParallel()) +
                                  " = " + std::to_string(per_step));
  // The simulator builds every micro-batch's tasks; past this the execution graph of even a small
  // model outgrows memory (2^30 micro-batches ran out of it). Real jobs run ~10..10^4.
  constexpr int64_t kMaxMicrobatches = int64_t{1} << 16;
  if (s.NumMicrobatches() > kMaxMicrobatches)
    throw UserError(s.origin, "global_batch " + std::to_string(s.global_batch) + " / (micro_batch " +
                                  std::to_string(s.micro_batch) + " x dp " + std::to_string(s.DataParallel()) + ") = " +
                                  std::to_string(s.NumMicrobatches()) + " micro-batches per iteration; at most " +
                                  std::to_string(kMaxMicrobatches) + " are simulated (raise micro_batch)");
  if (s.schedule.kind == ScheduleKind::kInterleaved) {
    if (s.PipelineRanks() < 2) throw UserError(s.origin, "the interleaved schedule needs pp >= 2");
    if (s.NumMicrobatches() % s.PipelineRanks() != 0)
      throw UserError(s.origin, "the interleaved schedule needs micro-batches (" + std::to_string(s.NumMicrobatches()) +
                                    ") divisible by pp (" + std::to_string(s.PipelineRanks()) + ")");
  }
  if (s.schedule.kind == ScheduleKind::kDualPipeV) {
    // DualPipeV (deepseek-ai/DualPipe, dualpipev.py) asserts num_chunks >= 2 x num_ranks: its
    // warm-up alone runs 2(p-r-1) + 2(r+1) = 2p forwards before the first backward of rank r.
    if (s.PipelineRanks() < 2) throw UserError(s.origin, "schedule.kind dualpipev needs pp >= 2");
    if (s.NumMicrobatches() < 2 * int64_t{s.PipelineRanks()})
      throw UserError(s.origin, "schedule.kind dualpipev needs micro-batches (" + std::to_string(s.NumMicrobatches()) +
                                    ") >= 2 x pp (" + std::to_string(2 * s.PipelineRanks()) + ")");
  }
  if (s.schedule.kind == ScheduleKind::kDualPipe) {
    // DualPipe (deepseek-ai/DualPipe, dualpipe.py step()) asserts num_ranks % 2 == 0 (rank r mirrors
    // rank p-1-r) and num_chunks % 2 == 0 with num_chunks >= 2 x num_ranks (each direction runs
    // half the micro-batches; a rank's warm-up runs p of them before its first backward).
    int64_t p = s.PipelineRanks(), m = s.NumMicrobatches();
    const std::string where = s.origin == "shorthand" ? "--schedule" : s.origin + ": schedule.kind";
    if (p < 2 || p % 2 != 0)
      throw UserError(where, "dualpipe needs an even pp >= 2 (rank r mirrors rank pp-1-r); got pp " + std::to_string(p));
    if (m % 2 != 0 || m < 2 * p)
      throw UserError(where, "dualpipe needs an even number of micro-batches >= 2 x pp (" + std::to_string(2 * p) +
                                 "), half per direction; got " + std::to_string(m));
    // ZeRO-Offload copies each gradient shard to the CPU as its bucket is reduced, before the two
    // copies' gradients could be summed on the GPU: that ordering is not modelled.
    if (s.offload_optimizer)
      throw UserError(where, "dualpipe with offload_optimizer is not modelled (the copies' gradient sum would "
                             "follow the gradients' copies to the CPU)");
  }
  if (s.schedule.kind == ScheduleKind::kZbV && s.PipelineRanks() < 2)
    throw UserError(s.origin, "schedule.kind zb-v needs pp >= 2 (two chunks per GPU in a V)");
  if (s.grad_bucket_bytes < 1) throw UserError(s.origin, "grad_bucket_bytes must be positive");
}

// A partition of a dim no operator under the rule has would change nothing: a typo ("ff" for "f")
// that silently leaves the model unsplit.
void CheckPartitionDimsUsed(const Strategy& s, const NodeSettings& n, const std::set<std::string>& used,
                            const std::string& where, const std::string& reach) {
  for (const auto& [dim, axis] : n.partition)
    if (axis && !used.count(dim))
      throw UserError(s.origin, where + ".partition." + dim + ": no operator " + reach + " has a dim '" + dim +
                                    "', so this partition would be ignored (see the model's dims with "
                                    "proteus-sim simulate --explain, or docs/models.md)");
}

void CheckRules(const Strategy& s, const ResolvedModel& r, const Model& model) {
  CheckSettings(s, s.defaults, "defaults");
  CheckPartitionDimsUsed(s, s.defaults, r.partition_dims_used.back(), "defaults", "of model " + model.name);
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    std::string where = "nodes[" + std::to_string(i) + "]";
    if (auto bad = CheckGlob(s.nodes[i].match))
      throw UserError(s.origin, where + ".match '" + s.nodes[i].match + "': " + *bad);
    if (r.rule_matches[i] == 0)
      throw UserError(s.origin, where + ".match '" + s.nodes[i].match + "' matches no module or operator of model " +
                                    model.name);
    CheckSettings(s, s.nodes[i].settings, where);
    CheckPartitionDimsUsed(s, s.nodes[i].settings, r.partition_dims_used[i], where,
                           "under '" + s.nodes[i].match + "'");
  }
}

void CheckPartition(const Strategy& s, const ResolvedOp& op) {
  std::set<std::string> used_axes;
  for (const auto& [dim_name, axis] : op.settings.partition) {
    const Dim* dim = op.op->FindDim(dim_name);
    if (!dim) continue;  // module-level partitions name dims that only some of their ops have
    if (dim->kind == DimKind::kOpaque)
      throw UserError(s.origin, op.path + ": dim " + dim_name + " is opaque and cannot be partitioned over " + axis);
    if (!used_axes.insert(axis).second)
      throw UserError(s.origin, op.path + ": two dims are partitioned over the same axis " + axis);
    int64_t size = GlobalDimSize(*dim, s);
    int n = s.AxisSize(axis);
    if (size % n != 0)
      throw UserError(s.origin, axis + "=" + std::to_string(n) + " does not divide dim " + dim_name + "=" +
                                    std::to_string(size) + " of " + op.path);
  }
}

// Attention reads every key (dim "t") for each query (dim "s"). With the queries split over an axis
// and nothing exchanging the keys and values between its ranks, each rank would attend to its own
// block only: a run priced too fast with no error. The one exchange modelled is ring attention over
// the cp axis on the fused core (compile/program_context.cc); every other split is refused.
void CheckAttentionSequence(const Strategy& s, const ResolvedOp& op) {
  if (!op.op->FindDim("t")) return;
  auto it = op.settings.partition.find("s");
  if (it == op.settings.partition.end() || s.AxisSize(it->second) <= 1) return;
  if (it->second == "cp" && op.op->kind == OpKind::kAttention) return;
  if (it->second == "cp")
    throw UserError(s.origin, op.path + ".partition.s: context parallelism is modelled on the fused attention "
                                  "core only (Megatron-Core runs it through Transformer Engine's fused "
                                  "attention); use a model with fused_attention");
  throw UserError(s.origin, op.path + ".partition.s: the queries of attention are split over " + it->second +
                                " but the only key/value exchange modelled is ring attention over the cp axis "
                                "(context parallelism); partition the sequence outside attention only "
                                "(sequence parallelism)");
}

// Where a context-parallel refusal points: the flag for the shorthand, the mesh entry of a file.
std::string CpWhere(const Strategy& s) { return s.origin == "shorthand" ? "--cp" : s.origin + ": mesh.cp"; }

// Combinations of context parallelism that are not modelled: refused rather than priced wrong.
void CheckContextParallelCombinations(const Strategy& s) {
  const std::string where = CpWhere(s);
  if (s.expert_parallel > 1)
    throw UserError(where, "context parallelism with expert parallelism (EP folded into dp x cp) is not modelled");
  auto sharded = [](const std::optional<std::string>& l) { return l && !l->empty(); };
  bool grads = sharded(s.defaults.grads);
  for (const auto& r : s.nodes) grads = grads || sharded(r.settings.grads);
  if (s.ShardsWeights() || grads)
    throw UserError(where, "context parallelism with sharded gradients or weights (ZeRO-2, ZeRO-3, FSDP) is not "
                           "modelled; use the distributed optimizer (--zero 1) or none");
  if (s.offload_optimizer || s.overlap_param_gather)
    throw UserError(where, "context parallelism with optimizer offload or --overlap-param-gather is not modelled");
}

// A "cp" mesh axis is Megatron-Core context parallelism with ring attention: every operator with a
// sequence dim splits it over cp (each rank holds 2 x cp load-balanced chunks, so the sequence must
// be divisible by 2 x cp), and the fused attention core exchanges keys and values around the ring.
// An operator whose sequence is not on cp would either run as a silent replica or, with sequence
// parallelism (s over tp), need s over tp x cp, which one partition cannot say: both refused.
void CheckContextParallel(const Strategy& s, const ResolvedModel& r, const Model& model) {
  const int cp = s.ContextParallel();
  if (cp <= 1) return;
  const std::string where = CpWhere(s);
  CheckContextParallelCombinations(s);
  bool any_sequence = false;
  for (const auto& op : r.ops) {
    const Dim* d = op.op->FindDim("s");
    if (!d || d->extent_only) continue;
    any_sequence = true;
    auto it = op.settings.partition.find("s");
    const std::string axis = it == op.settings.partition.end() ? "" : it->second;
    if (axis == "tp" && s.origin == "shorthand")
      throw UserError("--sp", "sequence parallelism with context parallelism (s over tp x cp in the norms) is not "
                              "modelled; drop --sp");
    if (axis != "cp")
      throw UserError(s.origin, op.path + ".partition.s: with a cp mesh axis every operator's sequence must be split "
                                    "over cp (got " + (axis.empty() ? std::string("none") : axis) +
                                    "); sequence parallelism beside cp is not modelled");
    if (d->size % (2 * cp) != 0)
      throw UserError(where, "the sequence length " + std::to_string(d->size) + " of model " + model.name +
                                 " is not divisible by 2 x cp = " + std::to_string(2 * cp) +
                                 " (ring attention's load-balanced chunks, as Megatron-Core requires)");
  }
  if (!any_sequence)
    throw UserError(where, "context parallelism splits the sequence, but model " + model.name + " has none");
}

void CheckStages(const Strategy& s, const ResolvedModel& r) {
  int stages = s.VirtualStages();
  std::vector<int> count(stages, 0);
  const ResolvedOp* prev = nullptr;
  for (const auto& op : r.ops) {
    int st = op.settings.stage < 0 ? (stages == 1 ? 0 : -1) : op.settings.stage;
    if (st < 0)
      throw UserError(s.origin, op.path + " has no pipeline stage (" + std::to_string(stages) +
                                    " stages): give it a stage rule");
    if (st >= stages)
      throw UserError(s.origin, op.path + " is on stage " + std::to_string(st) + " but the pipeline has " +
                                    std::to_string(stages) + " stages (0.." + std::to_string(stages - 1) + ")");
    if (prev && st < prev->settings.stage)
      throw UserError(s.origin, "stages must follow execution order: " + op.path + " (stage " + std::to_string(st) +
                                    ") runs after " + prev->path + " (stage " +
                                    std::to_string(prev->settings.stage) + ")");
    ++count[st];
    prev = &op;
  }
  for (int st = 0; st < stages; ++st)
    if (count[st] == 0)
      throw UserError(s.origin, "pipeline stage " + std::to_string(st) + " has no operators: stages must cover the "
                                "layers with no empty stage");
}

void CheckLayouts(const Strategy& s, const ResolvedOp& op) {
  const auto& e = op.settings;
  if (!e.weights.empty()) {
    if (e.grads != e.weights || e.optimizer != e.weights)
      throw UserError(s.origin, op.path + ": weights sharded over " + e.weights +
                                    " need the gradients and optimizer states sharded over it too (ZeRO-3 "
                                    "implies ZeRO-2 and ZeRO-1)");
    // Sharding over an axis that already splits the weight would shard it twice.
    for (const auto& t : op.op->tensors) {
      if (t.role != TensorRole::kWeight) continue;
      for (const auto& ax : t.axes) {
        auto it = e.partition.find(ax);
        if (it != e.partition.end() && it->second == e.weights && op.op->FindDim(ax))
          throw UserError(s.origin, op.path + ": weight " + t.name + " is already split over " + e.weights +
                                        " by its partition of dim " + ax + "; shard the weights over another axis");
      }
    }
  }
  if (!e.grads.empty() && e.grads != e.optimizer)
    throw UserError(s.origin, op.path + ": gradients sharded over " + e.grads +
                                  " need the optimizer states sharded over it too (ZeRO-2 implies ZeRO-1)");
}

// DeepSpeed offloads the optimizer of a ZeRO stage 1 or 2 optimizer only (ZeRO-Offload); stage 3's
// offload (ZeRO-Infinity) is not modelled.
void CheckOffload(const Strategy& s, const ResolvedModel& r) {
  if (!s.offload_optimizer) return;
  for (const auto& op : r.ops) {
    bool has_weights = false;
    for (const auto& t : op.op->tensors) has_weights = has_weights || t.role == TensorRole::kWeight;
    if (!has_weights) continue;
    const auto& e = op.settings;
    if (e.optimizer.empty())
      throw UserError(s.origin, "offload_optimizer: " + op.path + " keeps its optimizer states replicated; optimizer "
                                "offload needs ZeRO stage 1 or 2 (layouts.optimizer \"sharded:dp\"), as DeepSpeed "
                                "requires ZeRO for offload_optimizer");
    if (!e.weights.empty())
      throw UserError(s.origin, "offload_optimizer: " + op.path + " has sharded weights (ZeRO-3 / FSDP); their "
                                "optimizer offload (ZeRO-Infinity) is not modelled, only ZeRO stage 1 and 2");
  }
}

// HSDP: the shard group must cut every shard axis into equal groups, and be neither the whole axis
// (plain FSDP) nor one rank (every rank a full replica: DDP).
void CheckShardGroup(const Strategy& s, const ResolvedModel& r) {
  const int n = s.weight_gather.shard_group;
  if (n == 0) return;
  const std::string where = "weight_gather.shard_group " + std::to_string(n);
  if (!s.ShardsWeights())
    throw UserError(s.origin, where + ": HSDP shards the weights inside groups of ranks, but no layouts.weights "
                                      "is sharded (give \"weights\": \"sharded:dp\", or --fsdp)");
  std::set<std::string> checked;
  for (const auto& op : r.ops) {
    const std::string& axis = op.settings.weights;
    if (axis.empty() || !checked.insert(axis).second) continue;
    int d = s.AxisSize(axis);
    if (n <= 1 || n >= d || d % n != 0)
      throw UserError(s.origin, where + ": must divide the shard axis " + axis + "=" + std::to_string(d) +
                                    " and lie strictly between 1 and it (" + std::to_string(d) +
                                    " is plain FSDP, 1 plain data parallelism); the weights of " + op.path +
                                    " are sharded over " + axis);
  }
}

// Megatron-Core activation offload (core_r0.12 TransformerConfig.__post_init__ refuses the rest):
// layers 0 < N < num_layers, no pipeline parallelism, no recomputation of any granularity. Also
// refused here: a schedule other than 1f1b (Megatron runs pp 1 as forward_backward_no_pipelining,
// each micro-batch's forward then its backward, which proteus's 1f1b at pp 1 is) and optimizer
// offload (DeepSpeed's, not a Megatron-Core run).
void CheckActivationOffload(const Strategy& s, const ResolvedModel& r, const Model& model) {
  if (s.offload_activations == 0) return;
  const std::string where = s.origin == "shorthand" ? "--offload-activations" : s.origin + ": offload_activations";
  int n = 0;  // the blocks "layers.<i>" (shorthand's stage split counts the same)
  for (const auto& c : model.root.children)
    if (c.name == "layers") n = static_cast<int>(c.children.size());
  if (s.offload_activations < 0 || s.offload_activations >= n)
    throw UserError(where, "offloads the first N transformer layers, 0 < N < the " + std::to_string(n) +
                               " layers of model " + model.name + " (Megatron-Core: cpu_offloading_num_layers < "
                               "num_layers); got " + std::to_string(s.offload_activations));
  if (s.PipelineRanks() > 1 || s.VirtualStages() > 1)
    throw UserError(where, "Megatron-Core has no support for pipeline parallelism with CPU offloading (pp " +
                               std::to_string(s.PipelineRanks()) + ", " + std::to_string(s.VirtualStages()) +
                               " virtual stages)");
  if (s.schedule.kind != ScheduleKind::k1F1B)
    throw UserError(where, "without a pipeline Megatron-Core runs each micro-batch's forward then its backward "
                           "(the 1f1b schedule at pp 1); schedule " +
                               std::string(ScheduleKindName(s.schedule.kind)) + " is not offered with it");
  for (const auto& op : r.ops)
    if (op.settings.recompute != Recompute::kNone)
      throw UserError(where, "Megatron-Core: CPU offloading does not work when activation recomputation is enabled (" +
                                 op.path + " is recomputed)");
  if (s.offload_optimizer)
    throw UserError(where, "activation offload follows Megatron-Core and optimizer offload DeepSpeed ZeRO-Offload; "
                           "the two frameworks' offloads are not combined");
}

// Expert parallelism (Megatron-Core expert_model_parallel_size): needs routed experts, folds into
// dp (ep divides dp) and splits the experts evenly (ep divides their number). Sharded weights or
// gradients (ZeRO-2/3, FSDP) and optimizer offload beside it are not modelled, so they are refused.
// The data-parallel methods (dp_method.h) group the weight gradients that buckets would hold; the
// sharded weights' per-unit reduce-scatters and the bucket knobs are not theirs.
void CheckDpMethod(const Strategy& s) {
  const DpReduction& r = s.dp_reduction;
  if (r.method == DpMethod::kBuckets) return;
  const std::string where = s.origin == "shorthand" ? "--dp-method" : s.origin + ": dp_method";
  const std::string name(DpMethodName(r.method));
  if (s.ShardsWeights())
    throw UserError(where, name + " with sharded weights (ZeRO-3 / FSDP) is not modelled: their gradients are "
                               "reduce-scattered per gather unit; use dp_method buckets");
  if (!s.overlap_grad_reduce)
    throw UserError(where, name + " decides when gradients are reduced; overlap_grad_reduce false is the buckets "
                               "method's (use dp_method bsp for one reduction after the backward)");
  if (s.grad_bucket_bytes != kDefaultGradBucketBytes)
    throw UserError(s.origin == "shorthand" ? "--grad-bucket-mb" : s.origin + ": grad_bucket_bytes",
                    "is the buckets method's size; dp_method " + name + " groups gradients its own way");
  CheckDpReduction(r, s.origin == "shorthand" ? "--fusion-threshold-mb" : s.origin + ": fusion_threshold_bytes",
                   s.origin == "shorthand" ? "--fusion-cycle-ms" : s.origin + ": fusion_cycle_ms");
  // BytePS is a data-parallel system: every GPU holds the whole model (no tensor, pipeline,
  // context or expert split of it is described for it).
  if (r.method != DpMethod::kPs) return;
  for (const char* axis : {"tp", "pp", "cp"})
    if (s.AxisSize(axis) > 1)
      throw UserError(where, "ps (the BytePS parameter server) models data parallelism alone; " + std::string(axis) +
                                 " must be 1, got " + std::to_string(s.AxisSize(axis)));
  if (s.expert_parallel > 1)
    throw UserError(where, "ps (the BytePS parameter server) models data parallelism alone; ep must be 1");
}

void CheckExpertParallel(const Strategy& s, const Model& model) {
  const int ep = s.expert_parallel;
  const std::string where = s.origin == "shorthand" ? "--ep" : s.origin + ": mesh.ep";
  if (ep < 1) throw UserError(where, "must be >= 1, got " + std::to_string(ep));
  if (ep == 1) return;
  if (model.num_experts == 0)
    throw UserError(where, "expert parallelism shards routed experts, but model " + model.name +
                               " is dense (no mixture-of-experts layers)");
  if (s.DataParallel() % ep != 0)
    throw UserError(where, std::to_string(ep) + " must divide dp " + std::to_string(s.DataParallel()) +
                               " (expert parallelism folds into data parallelism, as in Megatron-Core)");
  if (model.num_experts % ep != 0)
    throw UserError(where, std::to_string(ep) + " must divide the " + std::to_string(model.num_experts) +
                               " experts of model " + model.name);
  if (s.ShardsWeights() || s.offload_optimizer)
    throw UserError(where, "expert parallelism with sharded weights (ZeRO-3 / FSDP) or optimizer offload is not "
                           "modelled; use the distributed optimizer (--zero 1) or none");
  auto sharded_grads = [](const NodeSettings& n) { return n.grads && !n.grads->empty(); };
  bool grads = sharded_grads(s.defaults);
  for (const auto& r : s.nodes) grads = grads || sharded_grads(r.settings);
  if (grads)
    throw UserError(where, "expert parallelism with sharded gradients (ZeRO-2) is not modelled; use --zero 1 "
                           "(Megatron-Core's distributed optimizer) or none");
}

// The most activation bytes one operator may touch per micro-batch: 16 TiB, 100x any GPU's memory,
// so a run this large is an out-of-memory verdict while every sum of such sizes (a stage's saved
// activations over the micro-batches in flight, up to 2^19 tensors) still fits int64. A larger
// micro-batch (--mbs 2147483647) used to wrap the memory ledger's byte counts.
constexpr int64_t kMaxMicroBatchOpBytes = int64_t{1} << 44;

// Per-sample sizes (b = 1) times the micro-batch, checked before any stage multiplies them.
void CheckMicroBatchBytes(const Strategy& s, const ResolvedModel& r) {
  for (const auto& rop : r.ops) {
    const Operator& op = *rop.op;
    int64_t per_sample = op.SavedBytes();
    for (const auto& t : op.tensors)
      if (t.role != TensorRole::kWeight) per_sample += op.TensorBytes(t);
    auto bytes = CheckedMul(per_sample, s.micro_batch);
    if (bytes && *bytes <= kMaxMicroBatchOpBytes) continue;
    throw UserError(s.origin == "shorthand" ? "--mbs" : s.origin + ": micro_batch",
                    "a micro-batch of " + std::to_string(s.micro_batch) + " samples makes operator " + rop.path +
                        " hold " + (bytes ? std::to_string(*bytes >> 40) + " TiB" : std::string("more than 2^63 bytes")) +
                        " of activations, more than the 16 TiB any simulation allows (no GPU holds it); lower "
                        "the micro-batch size");
  }
}

}  // namespace

int64_t GlobalDimSize(const Dim& dim, const Strategy& strategy) {
  if (dim.name == "b") return dim.size * strategy.micro_batch * strategy.DataParallel();
  return dim.size;
}

ResolvedModel ValidateStrategy(const Model& model, const Strategy& strategy, int cluster_gpus) {
  CheckMeshAndBatch(strategy, cluster_gpus);
  ResolvedModel r = ResolveStrategy(model, strategy);
  CheckRules(strategy, r, model);
  if (r.ops.empty()) throw UserError(strategy.origin, "model " + model.name + " has no operators");
  CheckContextParallel(strategy, r, model);  // before the partitions: a sequence cp cannot cut names --cp
  for (const auto& op : r.ops) {
    CheckPartition(strategy, op);
    CheckAttentionSequence(strategy, op);
    CheckLayouts(strategy, op);
  }
  CheckMicroBatchBytes(strategy, r);
  CheckOffload(strategy, r);
  CheckShardGroup(strategy, r);
  CheckActivationOffload(strategy, r, model);
  CheckExpertParallel(strategy, model);
  CheckDpMethod(strategy);
  // Bounded before CheckStages counts operators per stage in a vector of that length.
  int64_t stages = int64_t{strategy.PipelineRanks()} * strategy.schedule.chunks;
  if (stages > static_cast<int64_t>(r.ops.size()))
    throw UserError(strategy.origin, "pp x chunks = " + std::to_string(stages) + " virtual stages (schedule " +
                                         std::string(ScheduleKindName(strategy.schedule.kind)) + ") but model " +
                                         model.name + " has only " + std::to_string(r.ops.size()) +
                                         " operators; every stage needs at least one");
  CheckStages(strategy, r);
  // Unset stages mean stage 0 when there is no pipeline.
  for (auto& op : r.ops)
    if (op.settings.stage < 0) op.settings.stage = 0;
  return r;
}

}  // namespace proteus
