// Backward steps of a stage program: output gradients, data and weight gradients, gradient sends.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

auto ProgramBuilder::LastCompute(const std::vector<Step>& list) -> int {
  for (int k = static_cast<int>(list.size()) - 1; k >= 0; --k)
    if (list[k].kind == TaskKind::kCompute) return k;
  return -1;
}

void ProgramBuilder::GatherOutputGrads(StageState& st, std::vector<Step>& list, int i, std::vector<int32_t>& deps,
                       std::vector<int32_t>& chans, std::optional<PipelinedComm>* gather) {
  for (const auto& t : ops_[i].local.tensors) {
    if (t.role != TensorRole::kOutput) continue;
    TensorLayout want = GradientLayoutFor(Layout(i, t, LayoutUse::kWrite));
    std::set<int> remote_done;
    for (int c : tensors_[t.name].consumers) {
      const TensorUse* in = ops_[c].local.FindTensor(t.name);
      if (!in || !in->needs_grad) continue;
      TensorLayout from = Layout(c, *in, LayoutUse::kWrite);
      std::vector<int32_t> src_deps, src_chans;
      if (ops_[c].stage == st.v) {
        auto it = st.bwd_data_step.find(c);
        if (it == st.bwd_data_step.end()) continue;
        src_deps.push_back(it->second);
      } else {
        if (!remote_done.insert(ops_[c].stage).second) continue;  // the sender sums its stage's parts
        src_chans.push_back(Channel(t.name, false, ops_[c].stage, ops_[c].stage));
      }
      if (auto done = st.grad_scattered.find({t.name, c}); done != st.grad_scattered.end()) {
        deps.push_back(done->second);  // reduce-scattered piece by piece by the consumer's backward
        continue;
      }
      auto convs = ConvertLayout(from, want, GlobalBytes(i, t), axis_sizes_);
      if (CrossesExperts(i, c)) {  // the gradient of a dispatch or combine goes back the same way
        int last = EmitConversions(list, convs, "grad " + t.name, t.dtype, Phase::kBwdData, false, src_deps, src_chans);
        last = last >= 0 ? EmitExpertAllToAll(list, c, *in, "grad " + t.name, Phase::kBwdData, false, {last}, {})
                         : EmitExpertAllToAll(list, c, *in, "grad " + t.name, Phase::kBwdData, false, src_deps, src_chans);
        deps.push_back(last);
        continue;
      }
      if (gather && !*gather) {
        if (auto conv = Pipelinable(i, convs, CollOp::kAllGather)) {
          *gather = PipelinedComm{*conv, "grad " + t.name, t.dtype, src_deps, src_chans, ""};
          continue;
        }
      }
      int last = EmitConversions(list, convs, "grad " + t.name, t.dtype, Phase::kBwdData, false, src_deps, src_chans);
      if (last >= 0) deps.push_back(last);
      else chans.insert(chans.end(), src_chans.begin(), src_chans.end());
    }
  }
}

void ProgramBuilder::EmitBackward(StageState& st, std::vector<Step>& list, int i, size_t k) {
  if (LastOfRun(st, k, false)) EmitRecompute(st, list, k, false);
  else if (LastOfRun(st, k, true)) EmitRecompute(st, list, k, true);
  std::vector<int32_t> deps, chans;
  const OpInfo& o = ops_[i];
  bool has_dgrad = false;
  for (const auto& d : o.bwd) has_dgrad |= d.phase == Phase::kBwdData;
  std::optional<PipelinedComm> gather;
  GatherOutputGrads(st, list, i, deps, chans, has_dgrad ? &gather : nullptr);
  std::optional<PipelinedComm> scatter = gather || !has_dgrad ? std::nullopt : ScatterAfterBackward(st.v, i);
  // Inputs kept sharded (sequence parallel) are gathered again for the weight gradient.
  std::vector<int32_t> regather;
  for (const auto& name : st.saved[i].regather) {
    const TensorUse* t = o.local.FindTensor(name);
    auto convs = ConvertLayout(WriteLayoutOf(name), Layout(i, *t, LayoutUse::kRead), GlobalBytes(i, *t), axis_sizes_);
    int last = EmitConversions(list, convs, name + " regather", t->dtype, Phase::kBwdWeight, false, {}, {});
    if (last >= 0) regather.push_back(last);
  }
  int last_step = -1, gathered = -1;
  if (!o.bwd.empty()) EmitFp8Casts(list, i, Phase::kBwdData, false, deps, chans);
  for (const auto& d : o.bwd) {
    Step cs = ComputeStep(i, d.phase, &d, false);
    cs.deps = deps;
    cs.channels = chans;
    if (d.phase == Phase::kBwdWeight) cs.deps.insert(cs.deps.end(), regather.begin(), regather.end());
    if (gathered >= 0) cs.deps.push_back(gathered);  // the weight gradient reads the gathered gradient too
    if (d.phase == Phase::kBwdData && RingAttention(i)) {  // program_context.cc
      last_step = EmitRingAttention(list, i, d.phase, &d, false, std::move(cs));
    } else if (d.phase == Phase::kBwdData && gather) {
      last_step = EmitGatherPipelined(list, i, d.phase, &d, false, cs, *gather, &gathered);
    } else if (d.phase == Phase::kBwdData && scatter) {
      int done = -1;
      last_step = EmitScatterPipelined(list, i, d.phase, &d, false, cs, *scatter, &done);
      for (const auto& t : o.local.tensors)
        if (t.role == TensorRole::kInput && "grad " + t.name == scatter->tensor) st.grad_scattered[{t.name, i}] = done;
    } else {
      last_step = Add(list, std::move(cs));
    }
    if (d.phase == Phase::kBwdData) st.bwd_data_step[i] = last_step;
    chans.clear();  // awaited once
  }
  if (last_step < 0) {  // nothing to differentiate: still free what the forward kept
    Step cs = ComputeStep(i, Phase::kBwdData, nullptr, false);
    cs.duration_s = 0;
    cs.flops = 0;
    cs.deps = deps;
    cs.channels = chans;
    last_step = Add(list, std::move(cs));
  }
  // Freed by the op's last backward step: bwd_weight when it has weights (it reads the saved
  // input), so under a split backward (zb-h1, dualpipev) the memory stays until W runs.
  int64_t free_bytes = st.saved[i].fwd_bytes + st.saved[i].recompute_bytes;
  if (FirstOfRegion(st, k)) free_bytes += st.region_input_bytes[o.region];
  if (free_bytes > 0) list[last_step].mem.push_back({MemCategory::kActivations, true, -free_bytes});
  SendInputGrads(st, list, i);
  if (o.local.WeightParams() > 0) AddToBuckets(st, list, i, last_step);
}

void ProgramBuilder::SendInputGrads(StageState& st, std::vector<Step>& list, int i) {
  auto it = st.bwd_data_step.find(i);
  if (it == st.bwd_data_step.end()) return;
  for (const auto& t : ops_[i].local.tensors) {
    if (t.role != TensorRole::kInput || !t.needs_grad) continue;
    int p = tensors_[t.name].producer;
    if (p < 0 || ops_[p].stage == st.v) continue;
    // Send once, after the first consumer of this stage (the last to run in backward).
    bool later_consumer_here = false;
    for (int c : tensors_[t.name].consumers) later_consumer_here |= c < i && ops_[c].stage == st.v;
    if (later_consumer_here || !st.sent_grad.insert(t.name).second) continue;
    int64_t bytes = LocalBytes(Layout(i, t, LayoutUse::kWrite), GlobalBytes(i, t), axis_sizes_);
    EmitSend(list, t.name, false, st.v, ops_[p].stage, bytes, t.dtype, it->second, Phase::kBwdData);
  }
}

}  // namespace proteus::program_build
