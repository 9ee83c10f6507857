#include "simulator/strategy/describe.h"

#include <sstream>
#include <vector>

namespace proteus {
namespace {

// Every node's settings, the defaults first.
std::vector<const NodeSettings*> AllSettings(const Strategy& s) {
  std::vector<const NodeSettings*> out = {&s.defaults};
  for (const auto& r : s.nodes) out.push_back(&r.settings);
  return out;
}

bool AnySet(const Strategy& s, const std::optional<std::string> NodeSettings::*layout) {
  for (const NodeSettings* n : AllSettings(s))
    if ((n->*layout) && !(n->*layout)->empty()) return true;
  return false;
}

// The sequence dim partitioned over tp somewhere: Megatron's sequence parallelism.
bool SequenceParallel(const Strategy& s) {
  for (const NodeSettings* n : AllSettings(s)) {
    auto it = n->partition.find("s");
    if (it != n->partition.end() && it->second && *it->second == "tp") return true;
  }
  return false;
}

// The axis the weights are sharded over ("" when none is).
std::string WeightShardAxis(const Strategy& s) {
  for (const NodeSettings* n : AllSettings(s))
    if (n->weights && !n->weights->empty()) return *n->weights;
  return "";
}

std::string Sharding(const Strategy& s) {
  if (s.ShardsWeights() && s.weight_gather.shard_group > 0) {
    int n = s.weight_gather.shard_group;
    return "hsdp (shard " + std::to_string(n) + " x replicate " +
           std::to_string(s.AxisSize(WeightShardAxis(s)) / n) + ", " +
           (s.weight_gather.unit == GatherUnit::kBlock ? "per-layer units)" : "per-operator units)");
  }
  if (s.ShardsWeights())
    return s.weight_gather.unit == GatherUnit::kBlock ? "fsdp (zero-3, per-layer units)" : "zero-3 (per-operator units)";
  if (AnySet(s, &NodeSettings::grads)) return "zero-2";
  if (AnySet(s, &NodeSettings::optimizer)) return "distributed optimizer (zero-1)";
  return "";
}

std::string Recomputation(const Strategy& s) {
  Recompute most = Recompute::kNone;
  for (const NodeSettings* n : AllSettings(s))
    if (n->recompute && *n->recompute > most) most = *n->recompute;
  return most == Recompute::kNone ? "" : "recompute " + std::string(RecomputeName(most));
}

}  // namespace

std::string DescribeStrategy(const Strategy& s) {
  std::ostringstream os;
  for (size_t i = 0; i < s.mesh.size(); ++i) os << (i ? " x " : "") << s.mesh[i].name << " " << s.mesh[i].size;
  os << ", mbs " << s.micro_batch << ", gbs " << s.global_batch << ", " << ScheduleKindName(s.schedule.kind);
  if (s.schedule.kind == ScheduleKind::kInterleaved) os << ":" << s.schedule.chunks;
  if (SequenceParallel(s)) os << ", sp";
  if (std::string z = Sharding(s); !z.empty()) os << ", " << z;
  if (s.offload_optimizer) os << ", optimizer offload (cpu)";
  if (s.offload_activations > 0)
    os << ", activation offload (" << s.offload_activations << (s.offload_activations == 1 ? " layer" : " layers")
       << ", cpu)";
  if (s.ShardsWeights() && !s.weight_gather.reshard_after_forward) os << " no-reshard";
  if (std::string r = Recomputation(s); !r.empty()) os << ", " << r;
  if (s.fp8.enabled())
    os << ", fp8 " << Fp8FormatName(s.fp8.format) << " (" << Fp8ScalingName(s.fp8.scaling) << " scaling)";
  if (s.dp_reduction.method != DpMethod::kBuckets) os << ", dp " << DpMethodName(s.dp_reduction.method);
  std::string overlaps;
  if (s.overlap_grad_reduce) overlaps += " grad-reduce";
  if (s.overlap_param_gather) overlaps += " param-gather";
  if (s.tp_comm_overlap) overlaps += " tp-comm";
  if (s.OverlapP2P() && s.PipelineRanks() > 1) overlaps += " p2p";
  os << ", overlap:" << (overlaps.empty() ? " none" : overlaps);
  return os.str();
}

}  // namespace proteus
