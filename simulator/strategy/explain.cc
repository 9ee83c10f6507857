#include "simulator/strategy/explain.h"

#include <sstream>
#include <vector>

#include "common/units.h"
#include "simulator/strategy/glob.h"
#include "simulator/strategy/resolve.h"

namespace proteus {
namespace {

std::string PartitionText(const std::map<std::string, std::optional<std::string>>& p) {
  std::string t;
  for (const auto& [dim, axis] : p) t += (t.empty() ? "" : ", ") + dim + ": " + (axis ? *axis : "none");
  return "{" + t + "}";
}

std::string SettingsText(const NodeSettings& n) {
  std::string t;
  auto add = [&](const std::string& s) { t += (t.empty() ? "" : "; ") + s; };
  if (!n.partition.empty()) add("partition " + PartitionText(n.partition));
  if (n.weights) add("weights " + LayoutText(*n.weights));
  if (n.grads) add("grads " + LayoutText(*n.grads));
  if (n.optimizer) add("optimizer " + LayoutText(*n.optimizer));
  if (n.recompute) add("recompute " + std::string(RecomputeName(*n.recompute)));
  if (n.stage) add("stage " + std::to_string(*n.stage));
  if (n.offload_optimizer) add(std::string("offload optimizer ") + (*n.offload_optimizer ? "on" : "off"));
  return t.empty() ? "(nothing)" : t;
}

// What a node sets relative to its parent, for the resolved tree.
std::string DiffText(const EffectiveSettings& e, const EffectiveSettings* parent) {
  std::string t;
  auto add = [&](const std::string& s) { t += "  " + s; };
  if (!parent || e.stage != parent->stage) add("stage " + std::to_string(e.stage < 0 ? 0 : e.stage));
  if (!parent || e.recompute != parent->recompute) add("recompute " + std::string(RecomputeName(e.recompute)));
  if (!parent || e.weights != parent->weights) add("weights " + LayoutText(e.weights));
  if (!parent || e.grads != parent->grads) add("grads " + LayoutText(e.grads));
  if (!parent || e.optimizer != parent->optimizer) add("optimizer " + LayoutText(e.optimizer));
  return t;
}

struct TreePrinter {
  const Strategy& s;

  EffectiveSettings Apply(EffectiveSettings e, const std::string& path) const {
    for (const auto& r : s.nodes)
      if (MatchGlob(r.match, path)) e.Apply(r.settings, path);
    return e;
  }

  // Renders a module subtree with names relative to it, so identical blocks render identically.
  std::string Render(const Module& m, const std::string& path, const EffectiveSettings& e,
                     const EffectiveSettings* parent, int depth) const {
    std::ostringstream os;
    std::string pad(2 * depth, ' ');
    for (const auto& op : m.ops) {
      EffectiveSettings oe = Apply(e, JoinPath(path, op.name));
      std::string part;
      for (const auto& d : op.dims)
        if (auto it = oe.partition.find(d.name); it != oe.partition.end())
          part += (part.empty() ? "" : ", ") + d.name + ": " + it->second;
      os << pad << "  " << op.name << " (" << OpKindName(op.kind) << ")  {" << part << "}"
         << DiffText(oe, &e) << "\n";
    }
    for (size_t i = 0; i < m.children.size();) {
      // Fold a run of siblings that render identically (the repeated blocks of a model).
      const Module& c = m.children[i];
      std::string cpath = JoinPath(path, c.name);
      EffectiveSettings ce = Apply(e, cpath);
      std::string body = Render(c, cpath, ce, &e, depth + 1);
      std::string head = DiffText(ce, &e);
      size_t j = i + 1;
      while (j < m.children.size()) {
        std::string p2 = JoinPath(path, m.children[j].name);
        EffectiveSettings e2 = Apply(e, p2);
        if (DiffText(e2, &e) != head || Render(m.children[j], p2, e2, &e, depth + 1) != body) break;
        ++j;
      }
      std::string name = j - i > 1 ? "[" + c.name + "-" + m.children[j - 1].name + "]" : c.name;
      os << pad << "  " << name << (c.type.empty() ? "" : " (" + c.type + ")") << head
         << (j - i > 1 ? "  x" + std::to_string(j - i) + " identical" : "") << "\n"
         << body;
      i = j;
    }
    return os.str();
  }
};

}  // namespace

std::string ExplainStrategy(const Model& model, const Strategy& s) {
  std::ostringstream os;
  os << "strategy (" << s.origin << ") for model " << model.name << "\n";
  os << "  mesh:";
  for (const auto& a : s.mesh) os << " " << a.name << "=" << a.size;
  os << "  (" << s.MeshGpus() << " GPUs; the last axis is fastest-varying in the rank)\n";
  os << "  batch: micro_batch " << s.micro_batch << ", global_batch " << s.global_batch << ", dp "
     << s.DataParallel() << " -> " << s.NumMicrobatches() << " micro-batches per iteration\n";
  os << "  schedule: " << ScheduleKindName(s.schedule.kind);
  if (s.schedule.chunks > 1) os << " (" << s.schedule.chunks << " chunks per GPU)";
  if (s.schedule.kind == ScheduleKind::kDualPipe) os << " (two directions: GPU r holds stages r and pp-1-r)";
  os << " over " << s.PipelineRanks() << " pipeline ranks\n";
  const DpReduction& dr = s.dp_reduction;
  if (dr.method == DpMethod::kBuckets) {
    os << "  gradient buckets: " << FormatBytes(s.grad_bucket_bytes)
       << (s.overlap_grad_reduce ? ", reduced while backward runs\n" : ", reduced after backward\n");
  } else {
    os << "  gradient reduction: dp_method " << DpMethodName(dr.method);
    if (dr.method == DpMethod::kFusion)
      os << " (threshold " << FormatBytes(dr.fusion_threshold_bytes) << ", cycle " << dr.fusion_cycle_s * 1000 << " ms)";
    if (dr.method == DpMethod::kPs)
      os << " (servers: " << (dr.ps_servers > 0 ? std::to_string(dr.ps_servers) : std::string("one per worker node"))
         << ", " << (dr.ps_colocated ? "on the worker nodes" : "hosts of their own") << "; pieces of "
         << dr.ps_partition_bytes << " bytes)";
    os << "\n";
  }
  os << "  overlaps: param gather " << (s.overlap_param_gather ? "during the next forward" : "after the optimizer step")
     << "; tp comm " << (s.tp_comm_overlap ? "pipelined with the GEMMs (tp chunks)" : "not overlapped") << "; p2p "
     << (s.OverlapP2P() ? "beside compute" : "blocking the sender")
     << (s.overlap_p2p_comm ? "" : " (the schedule's Megatron-Core default)") << "\n";
  if (s.ShardsWeights())
    os << "  sharded weights: gathered per " << GatherUnitName(s.weight_gather.unit) << " ("
       << (s.weight_gather.unit == GatherUnit::kBlock ? "FSDP2" : "DeepSpeed ZeRO-3") << "), prefetch "
       << s.weight_gather.prefetch << ", "
       << (s.weight_gather.reshard_after_forward ? "gathered again for backward" : "kept from forward to backward")
       << "; gradients reduce-scattered per unit every micro-batch\n";
  if (s.ShardsWeights() && s.weight_gather.shard_group > 0)
    os << "  hsdp: weights, gradients and optimizer states sharded over groups of " << s.weight_gather.shard_group
       << " consecutive ranks of their shard axis, replicated across the groups; gathers and reduce-scatters inside "
          "the group, then each unit's gradient shard all-reduced across the groups, every micro-batch (FSDP2 "
          "fully_shard on a (replicate, shard) mesh)\n";
  if (s.expert_parallel > 1)
    os << "  expert parallelism: routed experts sharded over groups of " << s.expert_parallel
       << " consecutive dp ranks (Megatron-Core EP, folded into dp); per MoE layer and micro-batch, token dispatch "
          "and combine are all-to-alls in the group, forward and backward; expert gradients reduced over the "
       << s.DataParallel() / s.expert_parallel << " ranks holding the same experts\n";
  if (s.offload_optimizer)
    os << "  optimizer offload (DeepSpeed ZeRO-Offload, device cpu): fp32 master weights and Adam m, v of each GPU's "
          "shard in CPU memory; per gradient bucket, after its reduce-scatter, the fp32 gradient shard copied to the "
          "CPU over PCIe (during backward); CPU Adam; the updated bf16 shard copied back, then the parameter "
          "all-gather\n";
  if (s.offload_activations > 0)
    os << "  activation offload (Megatron-Core cpu_offloading, Transformer Engine cpu_offload): the saved activations "
          "of layers 0-" << s.offload_activations - 1 << " (not dropout masks, not attention softmax statistics) "
          "copied to the CPU over PCIe on a copy stream after each layer's forward, one layer at a time, and freed "
          "at the layer TE's window syncs on; reloaded in backward one window ahead, each layer's backward waiting "
          "for its reload\n";
  if (s.fp8.enabled())
    os << "  precision: fp8 GEMMs in the transformer blocks' Linears (Transformer Engine " << Fp8FormatName(s.fp8.format)
       << ", " << Fp8ScalingName(s.fp8.scaling) << " scaling); everything else in the model dtype\n";
  os << "  memory: main grads " << DTypeName(s.precision.main_grads) << ", params "
     << ParamStorageName(s.precision.params) << "; reserve " << FormatBytes(s.memory.reserve_bytes)
     << ", fragmentation x" << s.memory.fragmentation << ", NCCL_BUFFSIZE " << FormatBytes(s.memory.nccl_buffsize)
     << "\n";
  os << "  defaults: " << SettingsText(s.defaults) << "\n";
  os << "  rules (later wins):\n";
  for (size_t i = 0; i < s.nodes.size(); ++i)
    os << "    [" << i << "] " << s.nodes[i].match << ": " << SettingsText(s.nodes[i].settings) << "\n";
  EffectiveSettings root;
  root.Apply(s.defaults, "");
  TreePrinter printer{s};
  root = printer.Apply(root, "");
  os << "resolved tree (op {dim: axis}):\n";
  os << "  " << (model.name.empty() ? "(root)" : model.name) << DiffText(root, nullptr) << "\n";
  os << printer.Render(model.root, "", root, nullptr, 0);
  return os.str();
}

}  // namespace proteus
