// Per pipeline rank: static memory (static_memory.h) and the optimizer step with what precedes and follows it.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

void ProgramBuilder::AccountWeights(StageState& st) {
  // Every rank holding the stage stores it: dualpipe's two copies are two ranks' parameters,
  // gradients and optimizer states (DeepSeek-V3 Table 2: parameters 2x).
  for (int rank : RanksOfStage(s_.schedule, st.v, s_.PipelineRanks())) AccountWeightsOn(st, rank);
}

void ProgramBuilder::AccountWeightsOn(const StageState& st, int rank) {
  RankState& rs = job_.ranks[rank];
  // Per rank, not per stage: a tied weight read by two stages of one GPU (the embedding of stage
  // 0 and the head of stage 2p-1 under a V placement, of stage 0 and p-1 under dualpipe) is stored once.
  std::set<std::string>& seen = weights_of_rank_[rank];
  for (int i : st.ops) {
    const OpInfo& o = ops_[i];
    if (o.fp8) rs.fp8_weight_bytes += Fp8WeightCopyBytes(o.local);
    for (const auto& t : o.local.tensors) {
      if (t.role != TensorRole::kWeight || !seen.insert(t.name).second) continue;
      // Expert parallelism: a rank holds 1/ep of the routed experts (program_experts.cc).
      const int experts = ExpertShards(i);
      int64_t params =
          LocalBytes(Layout(i, t, LayoutUse::kRead), GlobalBytes(i, t), axis_sizes_) / DTypeBytes(t.dtype) / experts;
      // HSDP: what is sharded with the weights is sharded over the shard group only.
      int group = o.r->settings.weights.empty() ? 0 : s_.weight_gather.shard_group;
      auto shards_over = [&](const std::string& axis) {
        // Expert states sharded over dp are sharded over the expert-data-parallel group (dp / ep).
        if (experts > 1 && axis == "dp") return s_.AxisSize(axis) / experts;
        // Context parallelism: the distributed optimizer shards over dp x cp (Megatron-Core's
        // data-parallel group with cp; cp ranks hold the same weights).
        if (axis == "dp" && s_.ContextParallel() > 1) return s_.AxisSize(axis) * s_.ContextParallel();
        return axis.empty() ? 1 : group > 0 ? group : s_.AxisSize(axis);
      };
      ParamShards shards{shards_over(o.r->settings.weights), shards_over(o.r->settings.grads),
                         shards_over(o.r->settings.optimizer)};
      ParamStateBytes b = ParamStateOf(params, t.dtype, s_.precision, shards);  // static_memory.h
      rs.weight_bytes += b.weights;
      rs.grad_bytes += b.grads;
      if (s_.offload_optimizer) {  // DeepSpeed keeps these in pinned CPU memory (program_offload.cc)
        rs.host_optimizer_bytes += b.optimizer;
        rs.host_grad_bytes += OffloadedGradBytes(params, shards.optimizer);
      } else {
        rs.optimizer_bytes += b.optimizer;
        rs.step_grad_copy_bytes += b.step_grad_copy;
      }
      rs.step_params += params / shards.optimizer;
      rs.step_dtype = t.dtype;
    }
  }
}

// The parameter all_gathers after the optimizer step (tail index `step`): each waits for the step,
// and for the earlier gathers its deps name (indices into `gathers`: context parallelism's dp then
// cp gathers of one bucket, program_context.cc).
void ProgramBuilder::AppendParamGathers(const std::vector<Step>& gathers, int32_t step, std::vector<Step>& tail) {
  const int32_t offset = static_cast<int32_t>(tail.size());
  for (Step ag : gathers) {
    std::vector<int32_t> deps = {step};
    for (int32_t d : ag.deps) deps.push_back(offset + d);
    ag.deps = std::move(deps);
    tail.push_back(std::move(ag));
  }
}

void ProgramBuilder::BuildTail(int p) {
  RankState& rs = job_.ranks[p];
  if (s_.offload_optimizer) {
    std::vector<Step> tail = TiedGradientReductions(p);
    int32_t h2d = AddOffloadedStep(rs, tail);
    AppendParamGathers(rs.tail, h2d, tail);
    rs.tail = std::move(tail);
    return;
  }
  TaskCost c = in_.coster->StepCost(rs.step_params, rs.step_dtype);
  Step step;
  step.kind = TaskKind::kCompute;
  step.phase = Phase::kStep;
  step.duration_s = c.seconds;
  step.source = c.source;
  if (!c.key.empty()) step.cost_key = g_.Intern(c.key);
  step.compute_class = g_.Intern(c.compute_class);
  step.name = g_.Intern("optimizer step");
  if (rs.step_grad_copy_bytes > 0)  // the fp32 copy of 16-bit main grads lives for the step only
    step.mem = {{MemCategory::kOptimizer, false, rs.step_grad_copy_bytes},
                {MemCategory::kOptimizer, true, -rs.step_grad_copy_bytes}};
  std::vector<Step> tail = TiedGradientReductions(p);
  for (size_t k = 0; k < tail.size(); ++k) step.deps.push_back(static_cast<int32_t>(k));
  int32_t step_index = static_cast<int32_t>(tail.size());
  tail.push_back(step);
  AppendParamGathers(rs.tail, step_index, tail);
  rs.tail = std::move(tail);
}

}  // namespace proteus::program_build
