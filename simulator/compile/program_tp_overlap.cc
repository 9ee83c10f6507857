// Tensor-parallel communication pipelined with the GEMMs next to it (tp_overlap.h).
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

auto ProgramBuilder::Pipelinable(int i, const std::vector<Conversion>& convs, CollOp op) const -> std::optional<Conversion> {
  if (!s_.tp_comm_overlap || ops_[i].local.kind != OpKind::kLinear) return std::nullopt;
  auto c = SingleCollective(convs, op, axis_sizes_);
  if (!c || StreamOfAxis(c->axis) != StreamKind::kTpComm) return std::nullopt;
  if (!SplitsAlongSequence(ops_[i].local, axis_sizes_[c->axis])) return std::nullopt;
  return c;
}

auto ProgramBuilder::EmitPieces(std::vector<Step>& list, const PipelinedComm& pc, int64_t bytes, int first, int count,
                                int of, Phase phase, bool recompute, std::vector<int32_t> deps,
                                std::vector<int32_t> chans) -> int {
  std::string what = pc.tensor + " pieces " + ChunkOf{first, count, of}.Label();
  int k = EmitConversions(list, {{pc.conv.op, pc.conv.axis, bytes}}, what, pc.dtype, phase, recompute, std::move(deps),
                          std::move(chans));
  list[k].userbuffer_pieces = count;
  return k;
}

// Chunk 0 on the local shard, chunks 1..n-2 after it, the n-1 gathered pieces as one all_gather,
// chunk n-1 after them (tp_overlap.h). `first` carries the compute's own deps, channels and memory.
auto ProgramBuilder::EmitGatherPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived,
                                         bool recompute, const Step& first, const PipelinedComm& pc, int* gathered)
    -> int {
  int n = axis_sizes_[pc.conv.axis];
  *gathered = EmitPieces(list, pc, pc.conv.bytes, 0, n - 1, n - 1, phase, recompute, pc.deps, pc.chans);
  Step head = ComputeStep(i, phase, derived, recompute, {0, 1, n});
  head.deps = first.deps;
  head.deps.insert(head.deps.end(), pc.deps.begin(), pc.deps.end());
  head.channels = first.channels;
  head.channels.insert(head.channels.end(), pc.chans.begin(), pc.chans.end());
  head.mem = first.mem;
  Add(list, std::move(head));
  if (n > 2) Add(list, ComputeStep(i, phase, derived, recompute, {1, n - 2, n}));
  Step last = ComputeStep(i, phase, derived, recompute, {n - 1, 1, n});
  last.deps = {*gathered};
  ++tp_overlaps_;
  return Add(list, std::move(last));
}

// Chunk 0, the reduce_scatter of pieces 1..n-1 after it, chunks 1..n-1, the last piece after them.
auto ProgramBuilder::EmitScatterPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived,
                                          bool recompute, const Step& first, const PipelinedComm& pc, int* scattered)
    -> int {
  int n = axis_sizes_[pc.conv.axis];
  Step head = ComputeStep(i, phase, derived, recompute, {0, 1, n});
  head.deps = first.deps;
  head.channels = first.channels;
  head.mem = first.mem;
  int h = Add(list, std::move(head));
  int64_t piece = pc.conv.bytes / n;
  EmitPieces(list, pc, piece * (n - 1), 0, n - 1, n, phase, recompute, {h}, {});
  int rest = Add(list, ComputeStep(i, phase, derived, recompute, {1, n - 1, n}));
  *scattered = EmitPieces(list, pc, piece, n - 1, 1, n, phase, recompute, {rest}, {});
  ++tp_overlaps_;
  return rest;
}

auto ProgramBuilder::ScatterAfterForward(int stage, int i) const -> std::optional<PipelinedComm> {
  for (const auto& t : ops_[i].local.tensors) {
    if (t.role != TensorRole::kOutput) continue;
    for (int c : tensors_.at(t.name).consumers) {
      if (ops_[c].stage != stage) continue;
      const TensorUse* in = ops_[c].local.FindTensor(t.name);
      TensorLayout to = Layout(c, *in, LayoutUse::kRead);
      auto convs = ConvertLayout(Layout(i, t, LayoutUse::kWrite), to, GlobalBytes(i, t), axis_sizes_);
      if (auto conv = Pipelinable(i, convs, CollOp::kReduceScatter))
        return PipelinedComm{*conv, t.name, t.dtype, {}, {}, t.name + "|" + LayoutText(to, axis_names_)};
    }
  }
  return std::nullopt;
}

auto ProgramBuilder::ScatterAfterBackward(int stage, int i) const -> std::optional<PipelinedComm> {
  for (const auto& t : ops_[i].local.tensors) {
    if (t.role != TensorRole::kInput || !t.needs_grad) continue;
    int p = tensors_.at(t.name).producer;
    if (p < 0 || ops_[p].stage != stage) continue;
    auto convs = ConvertLayout(Layout(i, t, LayoutUse::kWrite), GradientLayoutFor(WriteLayoutOf(t.name)),
                               GlobalBytes(i, t), axis_sizes_);
    if (auto conv = Pipelinable(i, convs, CollOp::kReduceScatter))
      return PipelinedComm{*conv, "grad " + t.name, t.dtype, {}, {}, ""};
  }
  return std::nullopt;
}

}  // namespace proteus::program_build
