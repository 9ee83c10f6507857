// Data-parallel gradient buckets and the distributed optimizer's parameter gathers (overlapped or not).
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

void ProgramBuilder::AddToBuckets(StageState& st, std::vector<Step>& list, int i, int wgrad_step) {
  const OpInfo& o = ops_[i];
  if (!o.r->settings.weights.empty()) return;  // reduce-scattered per gather unit
  int shard = o.r->settings.optimizer.empty() ? -1 : mesh_.AxisIndex(o.r->settings.optimizer);
  // Routed experts under expert parallelism: 1/ep of the weights here, their gradients summed over
  // the expert-data-parallel group only (program_experts.cc); nothing to sum when that is one rank.
  const int experts = ExpertShards(i);
  const int dp = mesh_.AxisIndex("dp");
  const bool expert_dp_alone = experts > 1 && s_.DataParallel() == experts;
  if (expert_dp_alone && shard == dp) shard = -1;
  for (const auto& t : o.local.tensors) {
    if (t.role != TensorRole::kWeight || !st.bucketed.insert(t.name).second) continue;
    TensorLayout gl = Layout(i, t, LayoutUse::kWeightGrad);
    std::vector<int> axes;
    for (int a = 0; a < static_cast<int>(gl.size()); ++a)
      if (gl[a] == kPartial && axis_sizes_[a] > 1 && !(expert_dp_alone && a == dp)) axes.push_back(a);
    if (axes.empty()) continue;
    auto key = std::make_tuple(axes, shard, experts > 1);
    if (s_.dp_reduction.method != DpMethod::kBuckets) {  // grouped after the backward (program_dp_methods.cc)
      Bucket piece;
      piece.axes = axes;
      piece.shard_axis = shard;
      if (experts > 1) piece.span = ExpertGradSpan();
      piece.bytes = LocalBytes(gl, GlobalBytes(i, t), axis_sizes_) / experts;
      piece.params = piece.bytes / DTypeBytes(t.dtype);
      piece.ops = {i};
      st.pending.push_back({key, std::move(piece), wgrad_step});
      continue;
    }
    Bucket& b = st.open[key];
    b.axes = axes;
    b.shard_axis = shard;
    if (experts > 1) b.span = ExpertGradSpan();
    int64_t bytes = LocalBytes(gl, GlobalBytes(i, t), axis_sizes_) / experts;
    b.bytes += bytes;
    b.params += bytes / DTypeBytes(t.dtype);
    b.ops.push_back(i);
    if (s_.overlap_grad_reduce && b.bytes >= s_.grad_bucket_bytes) {
      EmitBucket(st, list, b, wgrad_step);
      st.open.erase(key);
    }
  }
}

void ProgramBuilder::FlushBuckets(StageState& st, std::vector<Step>& list, int dep) {
  if (s_.dp_reduction.method != DpMethod::kBuckets) return EmitDpMethodGroups(st, list, dep);
  for (auto& [key, b] : st.open) EmitBucket(st, list, b, dep);
  st.open.clear();
}

void ProgramBuilder::EmitBucket(StageState& st, std::vector<Step>& list, const Bucket& b, int dep) {
  int id = bucket_count_++;
  if (ReducesOverContext(b)) return EmitContextBucket(st, list, b, dep, id);  // program_context.cc
  int last = dep;
  // Expert buckets reduce over the dp axis's expert-data-parallel span only.
  auto span_of = [&](int a) { return a == mesh_.AxisIndex("dp") ? b.span : AxisSpan{}; };
  const std::string expert = b.span.block > 0 ? " experts" : "";
  for (int a : b.axes) {
    CollOp op = a == b.shard_axis ? CollOp::kReduceScatter : CollOp::kAllReduce;
    Step s = CollectiveStep(op, a, b.bytes, DType::kBf16, Phase::kBwdWeight,
                            "grad bucket " + std::to_string(id) + expert + " " + std::string(CollOpName(op)) + " " +
                                axis_names_[a]);
    s.span = span_of(a);
    s.last_microbatch_only = true;
    if (last >= 0) s.deps = {last};
    last = Add(list, std::move(s));
  }
  if (s_.offload_optimizer && b.shard_axis >= 0) AddGradToHost(list, b, id, last);
  if (b.shard_axis >= 0 && s_.overlap_param_gather) {
    st.param_gathers.push_back({b.shard_axis, span_of(b.shard_axis), b.bytes, b.ops, id});
  } else if (b.shard_axis >= 0) {
    for (int rank : RanksOfStage(s_.schedule, st.v, s_.PipelineRanks())) {  // each copy's own gather
      Step ag = CollectiveStep(CollOp::kAllGather, b.shard_axis, b.bytes, DType::kBf16, Phase::kStep,
                               "param bucket " + std::to_string(id) + expert + " all_gather " +
                                   axis_names_[b.shard_axis]);
      ag.span = span_of(b.shard_axis);
      job_.ranks[rank].tail.push_back(std::move(ag));
    }
  }
}

void ProgramBuilder::PrependParamGathers(StageState& st, std::vector<Step>& forward) {
  if (st.param_gathers.empty()) return;
  std::vector<Step> out;
  for (auto it = st.param_gathers.rbegin(); it != st.param_gathers.rend(); ++it) {
    Step ag = CollectiveStep(CollOp::kAllGather, it->axis, it->bytes, DType::kBf16, Phase::kFwd,
                             "param bucket " + std::to_string(it->id) + " all_gather " + axis_names_[it->axis] +
                                 " (overlapped)");
    ag.span = it->span;
    ag.first_microbatch_only = true;
    out.push_back(std::move(ag));
  }
  int32_t shift = static_cast<int32_t>(out.size());
  for (auto& step : forward) {
    for (auto& d : step.deps) d += shift;
    out.push_back(std::move(step));
  }
  for (int32_t g = 0; g < shift; ++g) {
    const ParamGather& pg = st.param_gathers[st.param_gathers.size() - 1 - g];
    int first = -1;
    for (int op : pg.ops)
      if (auto f = st.fwd_step.find(op); f != st.fwd_step.end() && (first < 0 || f->second < first)) first = f->second;
    if (first >= 0) out[first + shift].deps.push_back(g);
  }
  forward = std::move(out);
}

}  // namespace proteus::program_build
