// Sharded weights (ZeRO-3 / FSDP gather units, weight_units.h; HSDP's shard and replicate groups)
// and weights tied across pipeline ranks.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

auto ProgramBuilder::UnitAt(const StageState& st, size_t k) const -> int {
  auto it = st.unit_of.find(k);
  return it == st.unit_of.end() ? -1 : it->second;
}

void ProgramBuilder::PlanUnits(StageState& st) {
  for (size_t k = 0; k < st.ops.size(); ++k) {
    int i = st.ops[k];
    const OpInfo& o = ops_[i];
    if (o.r->settings.weights.empty() || o.local.WeightParams() == 0) continue;
    std::string name = GatherUnitOf(o.r->path, s_.weight_gather.unit);
    // Operators without weights between a unit's operators do not split it.
    if (st.units.empty() || st.units.back().name != name) {
      UnitPlan u;
      u.name = name;
      u.axis = mesh_.AxisIndex(o.r->settings.weights);
      st.units.push_back(std::move(u));
    }
    UnitPlan& u = st.units.back();
    u.ks.push_back(k);
    st.unit_of[k] = static_cast<int>(st.units.size()) - 1;
    for (const auto& t : o.local.tensors) {
      if (t.role != TensorRole::kWeight || !u.weights.insert(t.name).second) continue;
      u.bytes += LocalBytes(Layout(i, t, LayoutUse::kRead), GlobalBytes(i, t), axis_sizes_);
      u.dtype = t.dtype;
    }
  }
}

auto ProgramBuilder::UnitCollective(const UnitPlan& u, CollOp op, Phase phase, const std::string& what) -> Step {
  // HSDP: gathers and scatters run inside the shard group.
  int group = s_.weight_gather.shard_group;
  Step st = CollectiveStep(op, u.axis, u.bytes, u.dtype, phase,
                           u.name + " " + what + " " + std::string(CollOpName(op)) + " " + axis_names_[u.axis] +
                               (group > 0 ? " shard group" : ""));
  st.span = {group, false};
  return st;
}

auto ProgramBuilder::ReplicaAllReduce(const UnitPlan& u) -> Step {
  // The reduce-scatter left each rank 1/n of the unit's gradients, summed over its shard group; the
  // ranks holding the same 1/n, one per group, sum it (FSDP2 foreach_reduce: all_reduce over the
  // replicate mesh dim, after the reduce-scatter, in the same post-backward).
  int group = s_.weight_gather.shard_group;
  Step st = CollectiveStep(CollOp::kAllReduce, u.axis, u.bytes / group, u.dtype, Phase::kBwdWeight,
                           u.name + " grads all_reduce " + axis_names_[u.axis] + " replicas");
  st.span = {group, true};
  return st;
}

void ProgramBuilder::EmitForwardGathers(StageState& st, std::vector<Step>& list, int u) {
  int n = static_cast<int>(st.units.size()), ahead = s_.weight_gather.prefetch;
  for (; st.next_fwd_gather <= std::min(u + ahead, n - 1); ++st.next_fwd_gather) {
    int g = st.next_fwd_gather, gate = g - ahead - 1;
    Step ag = UnitCollective(st.units[g], CollOp::kAllGather, Phase::kFwd, "weights");
    if (gate >= 0) ag.deps = {st.units[gate].fwd_last};
    ag.mem.push_back({MemCategory::kBuffers, false, st.units[g].bytes});
    st.units[g].fwd_gather = Add(list, std::move(ag));
  }
}

auto ProgramBuilder::FirstComputeFrom(const std::vector<Step>& list, size_t from) -> int {
  for (size_t k = from; k < list.size(); ++k)
    if (list[k].kind == TaskKind::kCompute) return static_cast<int>(k);
  return -1;
}

void ProgramBuilder::AfterUnitForwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new) {
  UnitPlan& unit = st.units[u];
  if (unit.ks.front() == k) {
    int first = FirstComputeFrom(list, first_new);
    if (first >= 0) list[first].deps.push_back(unit.fwd_gather);
  }
  if (unit.ks.back() != k) return;
  unit.fwd_last = LastCompute(list);
  if (s_.weight_gather.reshard_after_forward)
    list[unit.fwd_last].mem.push_back({MemCategory::kBuffers, true, -unit.bytes});
}

void ProgramBuilder::EmitBackwardGathers(StageState& st, std::vector<Step>& list, int u) {
  int n = static_cast<int>(st.units.size()), ahead = s_.weight_gather.prefetch;
  for (; st.next_bwd_gather >= std::max(u - ahead, 0); --st.next_bwd_gather) {
    int g = st.next_bwd_gather, gate = g + ahead + 1;
    Step ag = UnitCollective(st.units[g], CollOp::kAllGather, Phase::kBwdData, "weights");
    if (gate < n) ag.deps = {st.units[gate].bwd_last};
    ag.mem.push_back({MemCategory::kBuffers, false, st.units[g].bytes});
    st.units[g].bwd_gather = Add(list, std::move(ag));
  }
}

void ProgramBuilder::AfterUnitBackwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new) {
  UnitPlan& unit = st.units[u];
  if (unit.ks.back() == k) {
    unit.bwd_first = FirstComputeFrom(list, first_new);
    if (unit.bwd_first >= 0) {
      if (unit.bwd_gather >= 0) list[unit.bwd_first].deps.push_back(unit.bwd_gather);
      // The unit's unsharded gradients, until they are reduce-scattered.
      list[unit.bwd_first].mem.push_back({MemCategory::kBuffers, false, unit.bytes});
    }
  }
  if (unit.ks.front() != k) return;
  unit.bwd_last = LastCompute(list);
  list[unit.bwd_last].mem.push_back({MemCategory::kBuffers, true, -unit.bytes});  // gathered weights
  Step rs = UnitCollective(unit, CollOp::kReduceScatter, Phase::kBwdWeight, "grads");
  rs.deps = {unit.bwd_last};
  if (unit.bwd_first >= 0) rs.mem.push_back({MemCategory::kBuffers, true, -unit.bytes});
  int scattered = Add(list, std::move(rs));
  if (s_.weight_gather.shard_group == 0) return;
  // HSDP, every micro-batch: FSDP2's all_reduce_grads is true unless the training loop calls
  // set_requires_all_reduce(False) on the accumulating micro-batches (not modelled).
  Step ar = ReplicaAllReduce(unit);
  ar.deps = {scattered};
  Add(list, std::move(ar));
}

auto ProgramBuilder::TiedGradientReductions(int p) -> std::vector<Step> {
  std::vector<Step> out;
  std::vector<int> pair = CopyPair(p);
  if (!pair.empty()) out.push_back(CopyGradientSum(p, pair));
  for (const auto& [name, tied] : tied_weights_) {
    if (std::find(tied.ranks.begin(), tied.ranks.end(), p) == tied.ranks.end()) continue;
    Step s = CollectiveStep(CollOp::kAllReduce, -1, tied.params * DTypeBytes(DType::kFp32), DType::kFp32, Phase::kStep,
                            "tied " + name + " grad all_reduce pp");
    s.stream = StreamKind::kDpComm;
    s.pp_peers = tied.ranks;
    out.push_back(std::move(s));
  }
  return out;
}

auto ProgramBuilder::CopyPair(int p) const -> std::vector<int> {
  if (!TwoDirections(s_.schedule)) return {};
  int mirror = s_.PipelineRanks() - 1 - p;
  return {std::min(p, mirror), std::max(p, mirror)};
}

// DualPipe's copies: rank p holds stages p and pp-1-p, its mirror the same two, so one all-reduce
// of the rank's whole gradient over the pair sums both stages' two copies. deepseek-ai/DualPipe's
// examples/example_dualpipe.py does this sum after step() (all_gather_into_tensor over the pp group,
// then each chunk's gradient += the mirror rank's other chunk); the pair all-reduce gives the same
// sum with 1/pp of the all-gather's data. After the data-parallel reduction (each mirror has the
// same shard of a sharded gradient), on the gradient stream, before the optimizer step.
auto ProgramBuilder::CopyGradientSum(int p, const std::vector<int>& pair) -> Step {
  const RankState& rs = job_.ranks[p];
  Step s = CollectiveStep(CollOp::kAllReduce, -1, rs.grad_bytes, s_.precision.main_grads, Phase::kStep,
                          "dualpipe copy grad all_reduce pp");
  s.stream = StreamKind::kDpComm;
  s.pp_peers = pair;
  return s;
}

void ProgramBuilder::FindTiedWeights() {
  int pp = s_.PipelineRanks();
  if (pp < 2) return;
  std::map<std::string, std::set<int>> ranks;
  std::map<std::string, int64_t> params;
  for (size_t i = 0; i < ops_.size(); ++i)
    for (const auto& t : ops_[i].local.tensors) {
      if (t.role != TensorRole::kWeight) continue;
      for (int rank : RanksOfStage(s_.schedule, ops_[i].stage, pp)) ranks[t.name].insert(rank);
      int64_t local = LocalBytes(Layout(static_cast<int>(i), t, LayoutUse::kRead), GlobalBytes(static_cast<int>(i), t),
                                 axis_sizes_) / DTypeBytes(t.dtype);
      params[t.name] = std::max(params[t.name], local);
    }
  // Under dualpipe every stage is on two ranks, whose copies the copy sum adds (CopyGradientSum): a
  // weight is tied only when more ranks than one stage's two hold it (the embedding and the head,
  // stages 0 and p-1, are both on ranks 0 and p-1: covered by that sum).
  size_t copies = TwoDirections(s_.schedule) ? 2 : 1;
  for (const auto& [name, r] : ranks)
    if (r.size() > copies) tied_weights_[name] = {std::vector<int>(r.begin(), r.end()), params[name]};
}

}  // namespace proteus::program_build
