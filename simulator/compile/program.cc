// Program building: operator analysis, stage assembly, step pricing (program_builder.h).
#include "simulator/compile/program.h"

#include "simulator/compile/program_builder.h"
#include "simulator/model/moe.h"

namespace proteus {
namespace program_build {

namespace {

// i of "layers.<i>.<...>", the transformer blocks shorthand splits into stages; -1 for other paths.
int LayerOfPath(const std::string& path) {
  constexpr std::string_view kPrefix = "layers.";
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  size_t end = path.find('.', kPrefix.size());
  std::string digits = path.substr(kPrefix.size(), end == std::string::npos ? std::string::npos : end - kPrefix.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

}  // namespace

auto ProgramBuilder::Build() -> JobProgram {
  for (int a = 0; a < mesh_.NumAxes(); ++a) {
    axis_sizes_.push_back(mesh_.Size(a));
    axis_names_.push_back(mesh_.AxisName(a));
  }
  Analyze();
  FindTiedWeights();
  int stages = s_.VirtualStages(), pp = s_.PipelineRanks();
  job_.ranks.resize(pp);
  for (int v = 0; v < stages; ++v) job_.stages.push_back(BuildStage(v));
  for (int p = 0; p < pp; ++p) BuildTail(p);
  if (s_.tp_comm_overlap && tp_overlaps_ == 0)
    throw UserError(s_.origin, "tp_comm_overlap: no tensor-parallel all-gather or reduce-scatter next to a GEMM to "
                               "overlap; it pipelines sequence parallelism's communication (tp > 1 with sp)");
  job_.num_channels = static_cast<int>(channel_sender_.size());
  job_.channel_sender_stage = channel_sender_;
  return std::move(job_);
}

void ProgramBuilder::Analyze() {
  const auto& rops = in_.resolved->ops;
  ops_.resize(rops.size());
  for (size_t i = 0; i < rops.size(); ++i) {
    OpInfo& o = ops_[i];
    o.r = &rops[i];
    o.stage = std::max(0, rops[i].settings.stage);
    o.mode = rops[i].settings.recompute;
    o.region = rops[i].settings.recompute_region;
    o.core = IsCore(*rops[i].op);
    o.layer = LayerOfPath(rops[i].path);
    o.local = *rops[i].op;
    for (auto& d : o.local.dims) {
      d.size = GlobalDimSize(d, s_);
      auto it = rops[i].settings.partition.find(d.name);
      if (it == rops[i].settings.partition.end() || d.extent_only) continue;
      int a = mesh_.AxisIndex(it->second);
      PROTEUS_CHECK(a >= 0, "validated partitions name mesh axes");
      o.part[d.name] = a;
      d.size /= mesh_.Size(a);
    }
    // Expert parallelism: this rank holds E / ep of the routed experts (program_experts.cc).
    if (s_.expert_parallel > 1 && IsRoutedExpertOp(o.local))
      if (Dim* e = o.local.MutableDim("e")) e->size /= s_.expert_parallel;
    o.fp8 = IsFp8Gemm(rops[i].path, o.local, s_.fp8);
    if (o.fp8) PrepareFp8Gemm(o.local, rops[i].path, Fp8SettingName(s_));
    o.bwd = DeriveBackward(o.local);
    for (size_t t = 0; t < o.local.tensors.size(); ++t) {
      const TensorUse& tu = o.local.tensors[t];
      if (tu.role == TensorRole::kOutput) {
        tensors_[tu.name].producer = static_cast<int>(i);
        tensors_[tu.name].out_index = static_cast<int>(t);
      } else if (tu.role == TensorRole::kInput) {
        tensors_[tu.name].consumers.push_back(static_cast<int>(i));
      }
    }
  }
}

auto ProgramBuilder::GlobalBytes(int i, const TensorUse& t) const -> int64_t {
  int64_t n = DTypeBytes(t.dtype);
  for (const auto& ax : t.axes)
    if (const Dim* d = Global(i).FindDim(ax)) n *= GlobalDimSize(*d, s_);
  return n;
}

auto ProgramBuilder::WriteLayoutOf(const std::string& tensor) const -> TensorLayout {
  const TensorInfo& ti = tensors_.at(tensor);
  return Layout(ti.producer, ops_[ti.producer].local.tensors[ti.out_index], LayoutUse::kWrite);
}

auto ProgramBuilder::Channel(const std::string& tensor, bool forward, int other_stage, int sender_stage) -> int {
  std::string key = tensor + (forward ? "|f|" : "|b|") + std::to_string(other_stage);
  auto [it, inserted] = channels_.emplace(key, static_cast<int>(channel_sender_.size()));
  if (inserted) channel_sender_.push_back(sender_stage);
  return it->second;
}

auto ProgramBuilder::Add(std::vector<Step>& list, Step s) -> int {
  list.push_back(std::move(s));
  return static_cast<int>(list.size()) - 1;
}

auto ProgramBuilder::CollectiveStep(CollOp op, int axis, int64_t bytes, DType dtype, Phase phase,
                                    const std::string& name) -> Step {
  Step st;
  st.kind = TaskKind::kCollective;
  if (axis >= 0) st.stream = StreamOfAxis(axis);
  st.phase = phase;
  st.op = op;
  st.axis = axis;
  st.bytes = bytes;
  st.dtype = dtype;
  st.name = g_.Intern(name);
  st.compute_class = g_.Intern(CollOpName(op));
  return st;
}

auto ProgramBuilder::EmitConversions(std::vector<Step>& list, const std::vector<Conversion>& convs, const std::string& what,
                    DType dtype, Phase phase, bool recompute, std::vector<int32_t> deps,
                    std::vector<int32_t> channels) -> int {
  int last = -1;
  for (const auto& c : convs) {
    Step st = CollectiveStep(c.op, c.axis, c.bytes, dtype, phase,
                             what + " " + std::string(CollOpName(c.op)) + " " + axis_names_[c.axis]);
    st.recompute = recompute;
    st.deps = last >= 0 ? std::vector<int32_t>{last} : deps;
    if (last < 0) st.channels = channels;
    last = Add(list, std::move(st));
  }
  return last;
}

auto ProgramBuilder::PricedStep(const TaskCost& c, Phase phase, double share) -> Step {
  Step st;
  st.kind = TaskKind::kCompute;
  st.stream = StreamKind::kCompute;
  st.phase = phase;
  st.duration_s = c.seconds * share;
  st.cost_share = static_cast<float>(share);
  st.source = c.source;
  if (!c.key.empty()) st.cost_key = g_.Intern(c.key);
  st.compute_class = g_.Intern(c.compute_class);
  return st;
}

auto ProgramBuilder::ComputeStep(int i, Phase phase, const Operator* derived, bool recompute, ChunkOf chunk) -> Step {
  const OpInfo& o = ops_[i];
  TaskCost c = o.fp8 ? in_.coster->Cost(Fp8PricedOp(o.local, phase, s_.fp8), phase)
                     : in_.coster->Cost(o.local, phase);
  double share = static_cast<double>(chunk.count) / chunk.of;
  Step st = PricedStep(c, phase, share);
  st.flops = (derived ? derived->ForwardFlops() : o.local.ForwardFlops()) * share;
  st.recompute = recompute;
  std::string suffix = recompute ? "recompute" : std::string(PhaseName(phase));
  if (chunk.of > 1) suffix += " " + chunk.Label();
  st.name = g_.Intern(o.r->path + " " + suffix);
  return st;
}

void ProgramBuilder::EmitFp8Casts(std::vector<Step>& list, int i, Phase phase, bool recompute, const std::vector<int32_t>& deps,
                  const std::vector<int32_t>& chans) {
  if (!ops_[i].fp8) return;
  for (Step& c : Fp8CastSteps(ops_[i].local, ops_[i].r->path, phase, s_.fp8, recompute, *in_.coster, g_)) {
    c.deps = deps;
    c.channels = chans;
    Add(list, std::move(c));
  }
}

auto ProgramBuilder::BuildStage(int v) -> StageProgram {
  StageState st;
  st.v = v;
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].stage == v) st.ops.push_back(static_cast<int>(i));
  StageProgram prog;
  prog.stage = v;
  const bool offload = s_.offload_activations > 0;
  if (offload) {
    st.group_bytes.assign(s_.offload_activations, 0);
    st.group_d2h.assign(s_.offload_activations, -1);
    st.group_h2d.assign(s_.offload_activations, -1);
  }
  for (int i : st.ops) PlanSaved(st, i);
  PlanUnits(st);
  for (size_t k = 0; k < st.ops.size(); ++k) {
    int u = UnitAt(st, k);
    if (u >= 0 && st.units[u].ks.front() == k) EmitForwardGathers(st, prog.forward, u);
    size_t first_new = prog.forward.size();
    EmitForward(st, prog.forward, st.ops[k], k);
    if (u >= 0) AfterUnitForwardOp(st, prog.forward, u, k, first_new);
    if (offload && LastOfLayer(st, k)) AfterLayerForward(st, prog.forward, ops_[st.ops[k]].layer);
  }
  st.next_bwd_gather = static_cast<int>(st.units.size()) - 1;
  for (size_t k = st.ops.size(); k-- > 0;) {
    int u = UnitAt(st, k);
    bool unit_begins = u >= 0 && st.units[u].ks.back() == k;  // backward runs the unit from its end
    if (unit_begins && s_.weight_gather.reshard_after_forward) EmitBackwardGathers(st, prog.backward, u);
    if (offload && LastOfLayer(st, k)) BeforeLayerBackward(st, prog.backward, ops_[st.ops[k]].layer);
    size_t first_new = prog.backward.size();
    EmitBackward(st, prog.backward, st.ops[k], k);
    if (u >= 0) AfterUnitBackwardOp(st, prog.backward, u, k, first_new);
  }
  FlushBuckets(st, prog.backward, LastCompute(prog.backward));
  PrependParamGathers(st, prog.forward);
  AccountWeights(st);
  for (int rank : RanksOfStage(s_.schedule, v, s_.PipelineRanks()))
    for (int64_t b : st.group_bytes) job_.ranks[rank].host_activation_bytes += b;
  return prog;
}

}  // namespace program_build

JobProgram BuildJobProgram(const ProgramInputs& in, ExecGraph& graph) {
  return program_build::ProgramBuilder(in, graph).Build();
}

}  // namespace proteus
