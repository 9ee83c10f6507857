// Forward steps of a stage program: input conversions, sends, saved activations, recomputation.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

auto ProgramBuilder::SavedTensorBytes(int i, const SavedTensor& st, const std::map<std::string, int64_t>& gather_factor) const -> int64_t {
  int64_t n = st.bytes_per_element;
  for (const auto& ax : st.axes)
    if (const Dim* d = ops_[i].local.FindDim(ax)) n *= d->size;
  auto it = gather_factor.find(Fp8SavedSource(st.name));
  return it == gather_factor.end() ? n : n / it->second;
}

void ProgramBuilder::PlanSaved(StageState& st, int i) {
  const OpInfo& o = ops_[i];
  SavedPlan plan;
  std::map<std::string, int64_t> gather;
  for (const auto& t : o.local.tensors) {
    if (t.role != TensorRole::kInput || tensors_[t.name].producer < 0) continue;
    auto convs = ConvertLayout(WriteLayoutOf(t.name), Layout(i, t, LayoutUse::kRead), GlobalBytes(i, t), axis_sizes_);
    int64_t f = 1;
    for (const auto& c : convs)
      if (c.op == CollOp::kAllGather) f *= axis_sizes_[c.axis];
    if (f > 1) gather[t.name] = f;
  }
  for (const auto& sv : o.local.saved) {
    int64_t bytes = SavedTensorBytes(i, sv, gather);
    if (gather.count(Fp8SavedSource(sv.name))) plan.regather.insert(Fp8SavedSource(sv.name));
    bool keep = !InFullRegion(i);
    if (SelectiveCore(i)) {
      int p = tensors_.count(BaseName(sv.name)) ? tensors_[BaseName(sv.name)].producer : -1;
      bool input = o.local.FindTensor(BaseName(sv.name)) &&
                   o.local.FindTensor(BaseName(sv.name))->role == TensorRole::kInput;
      keep = input && (p < 0 || !SelectiveCore(p));
    }
    if (keep) {
      if (st.allocated.insert(sv.name).second) {
        plan.fwd_bytes += bytes;
        if (OffloadsSaved(i, sv)) st.group_bytes[o.layer] += bytes;
      }
    } else {
      plan.recompute_bytes += bytes;
    }
  }
  st.saved[i] = plan;
}

auto ProgramBuilder::FirstOfRegion(const StageState& st, size_t k) const -> bool {
  int i = st.ops[k];
  return InFullRegion(i) && (k == 0 || !InFullRegion(st.ops[k - 1]) || ops_[st.ops[k - 1]].region != ops_[i].region);
}

auto ProgramBuilder::LastOfRun(const StageState& st, size_t k, bool selective) const -> bool {
  int i = st.ops[k];
  auto same = [&](int j) {
    return selective ? SelectiveCore(j) : (InFullRegion(j) && ops_[j].region == ops_[i].region);
  };
  return same(i) && (k + 1 == st.ops.size() || !same(st.ops[k + 1]));
}

auto ProgramBuilder::RegionInputBytes(const StageState& st, size_t k0) -> int64_t {
  std::set<int> region;
  for (size_t k = k0; k < st.ops.size() && InFullRegion(st.ops[k]) && ops_[st.ops[k]].region == ops_[st.ops[k0]].region; ++k)
    region.insert(st.ops[k]);
  std::set<std::string> seen;
  int64_t bytes = 0;
  for (int i : region)
    for (const auto& t : ops_[i].local.tensors) {
      if (t.role != TensorRole::kInput || region.count(tensors_[t.name].producer) || !seen.insert(t.name).second)
        continue;
      int p = tensors_[t.name].producer;
      TensorLayout l = p >= 0 ? WriteLayoutOf(t.name) : Layout(i, t, LayoutUse::kRead);
      bytes += LocalBytes(l, GlobalBytes(i, t), axis_sizes_);
    }
  return bytes;
}

void ProgramBuilder::EmitForwardOp(StageState& st, std::vector<Step>& list, int i, bool recompute, std::map<int, int>& op_step,
                   std::map<std::string, int>& cache, const std::set<int>* scope, std::vector<MemEffect> mem) {
  const OpInfo& o = ops_[i];
  std::vector<int32_t> deps, chans;
  std::optional<PipelinedComm> gather;  // an input all-gather pipelined with this GEMM
  for (const auto& t : o.local.tensors) {
    if (t.role != TensorRole::kInput) continue;
    int p = tensors_[t.name].producer;
    if (p < 0) continue;  // a model input
    TensorLayout to = Layout(i, t, LayoutUse::kRead);
    std::string key = t.name + "|" + LayoutText(to, axis_names_);
    if (auto it = cache.find(key); it != cache.end()) {
      deps.push_back(it->second);
      continue;
    }
    std::vector<int32_t> src_deps, src_chans;
    bool outside = scope && !scope->count(p);
    if (!outside && ops_[p].stage == st.v) src_deps.push_back(op_step.at(p));
    else if (!outside) src_chans.push_back(Channel(t.name, true, st.v, ops_[p].stage));
    auto convs = ConvertLayout(WriteLayoutOf(t.name), to, GlobalBytes(i, t), axis_sizes_);
    bool expert_exchange = CrossesExperts(p, i);
    if (!gather && !expert_exchange) {
      if (auto conv = Pipelinable(i, convs, CollOp::kAllGather)) {
        gather = PipelinedComm{*conv, t.name, t.dtype, src_deps, src_chans, key};
        continue;
      }
    }
    int last = EmitConversions(list, convs, t.name, t.dtype, Phase::kFwd, recompute, src_deps, src_chans);
    if (expert_exchange) {  // token dispatch or combine (program_experts.cc)
      last = last >= 0 ? EmitExpertAllToAll(list, i, t, t.name, Phase::kFwd, recompute, {last}, {})
                       : EmitExpertAllToAll(list, i, t, t.name, Phase::kFwd, recompute, src_deps, src_chans);
    }
    if (last >= 0) {
      cache[key] = last;
      deps.push_back(last);
    } else {
      for (int c : src_chans) chans.push_back(c);
    }
  }
  EmitFp8Casts(list, i, Phase::kFwd, recompute, deps, chans);
  Step cs = ComputeStep(i, Phase::kFwd, nullptr, recompute);
  cs.deps = deps;
  cs.channels = chans;
  cs.mem = std::move(mem);
  int step = -1, done = -1;
  if (RingAttention(i)) {  // context parallelism: cp block steps around the ring (program_context.cc)
    step = EmitRingAttention(list, i, Phase::kFwd, nullptr, recompute, std::move(cs));
  } else if (gather) {
    step = EmitGatherPipelined(list, i, Phase::kFwd, nullptr, recompute, cs, *gather, &done);
    cache[gather->cache_key] = done;  // other readers of the gathered tensor
  } else if (auto scatter = ScatterAfterForward(st.v, i)) {
    step = EmitScatterPipelined(list, i, Phase::kFwd, nullptr, recompute, cs, *scatter, &done);
    cache[scatter->cache_key] = done;  // the consumer finds its input converted
  } else {
    step = Add(list, std::move(cs));
  }
  op_step[i] = step;
  if (recompute) return;
  for (const auto& t : o.local.tensors) {
    if (t.role != TensorRole::kOutput) continue;
    const TensorInfo& ti = tensors_[t.name];
    TensorLayout wl = Layout(i, t, LayoutUse::kWrite);
    if (ti.consumers.empty()) {  // a final output (the loss) is reduced to every rank
      auto convs = ConvertLayout(wl, GradientLayoutFor(wl), GlobalBytes(i, t), axis_sizes_);
      if (o.local.kind == OpKind::kCrossEntropy && !convs.empty()) {
        // Vocab-parallel cross-entropy (Megatron): the logits' max, the target logit and the sum
        // of exponentials are each all-reduced over the vocab split; the loss is then local.
        int last = step;
        for (const char* part : {"max", "target logit", "sum exp"})
          last = EmitConversions(list, convs, t.name + " " + part, t.dtype, Phase::kFwd, false, {last}, {});
      } else {
        EmitConversions(list, convs, t.name, t.dtype, Phase::kFwd, false, {step}, {});
      }
    }
    std::set<int> dst;
    for (int c : ti.consumers)
      if (ops_[c].stage != st.v) dst.insert(ops_[c].stage);
    for (int w : dst)
      EmitSend(list, t.name, true, st.v, w, LocalBytes(wl, GlobalBytes(i, t), axis_sizes_), t.dtype, step, Phase::kFwd);
  }
}

void ProgramBuilder::EmitSend(std::vector<Step>& list, const std::string& tensor, bool forward, int from, int to, int64_t bytes,
              DType dtype, int dep, Phase phase) {
  Step s;
  s.kind = TaskKind::kP2P;
  s.stream = StreamKind::kPpComm;
  s.phase = phase;
  s.op = CollOp::kSendRecv;
  s.bytes = bytes;
  s.dtype = dtype;
  s.peer_stage = to;
  s.send_channel = Channel(tensor, forward, forward ? to : from, from);
  s.name = g_.Intern("send " + std::string(forward ? "" : "grad ") + tensor + " -> stage " + std::to_string(to));
  s.compute_class = g_.Intern("sendrecv");
  s.deps = {dep};
  Add(list, std::move(s));
}

void ProgramBuilder::EmitForward(StageState& st, std::vector<Step>& list, int i, size_t k) {
  std::vector<MemEffect> mem;
  int64_t bytes = st.saved[i].fwd_bytes;
  if (FirstOfRegion(st, k)) {
    int64_t in = RegionInputBytes(st, k);
    st.region_input_bytes[ops_[i].region] = in;
    bytes += in;
  }
  if (bytes > 0) mem.push_back({MemCategory::kActivations, false, bytes});
  EmitForwardOp(st, list, i, false, st.fwd_step, st.conv_cache, nullptr, std::move(mem));
}

void ProgramBuilder::EmitRecompute(StageState& st, std::vector<Step>& list, size_t k_last, bool selective) {
  size_t k0 = k_last;
  auto same = [&](int j) {
    return selective ? SelectiveCore(j) : (InFullRegion(j) && ops_[j].region == ops_[st.ops[k_last]].region);
  };
  while (k0 > 0 && same(st.ops[k0 - 1])) --k0;
  std::set<int> scope(st.ops.begin() + k0, st.ops.begin() + k_last + 1);
  std::map<int, int> steps;
  std::map<std::string, int> cache;
  for (size_t k = k0; k <= k_last; ++k) {
    int i = st.ops[k];
    std::vector<MemEffect> mem;
    if (st.saved[i].recompute_bytes > 0) mem.push_back({MemCategory::kActivations, false, st.saved[i].recompute_bytes});
    EmitForwardOp(st, list, i, true, steps, cache, &scope, std::move(mem));
  }
}

}  // namespace proteus::program_build
