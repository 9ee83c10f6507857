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

auto ProgramBuilder::EmitPiece(std::vector<Step>& list, const PipelinedComm& pc, int64_t bytes, int index, int pieces, Phase phase,
              bool recompute, std::vector<int32_t> deps, std::vector<int32_t> chans) -> int {
  std::string what = pc.tensor + " [" + std::to_string(index) + "/" + std::to_string(pieces) + "]";
  int k = EmitConversions(list, {{pc.conv.op, pc.conv.axis, bytes}}, what, pc.dtype, phase, recompute, std::move(deps),
                          std::move(chans));
  list[k].userbuffers = true;
  return k;
}

auto ProgramBuilder::EmitGatherPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                        const Step& first, const PipelinedComm& pc, int* gathered) -> int {
  int n = axis_sizes_[pc.conv.axis], piece = -1, last = -1;
  for (int c = 0; c < n; ++c) {
    if (c > 0)
      piece = EmitPiece(list, pc, pc.conv.bytes / (n - 1), c, n - 1, phase, recompute,
                        c == 1 ? pc.deps : std::vector<int32_t>{piece}, c == 1 ? pc.chans : std::vector<int32_t>{});
    Step cs = ComputeStep(i, phase, derived, recompute, n, c);
    if (c == 0) {
      cs.deps = first.deps;
      cs.deps.insert(cs.deps.end(), pc.deps.begin(), pc.deps.end());
      cs.channels = first.channels;
      cs.channels.insert(cs.channels.end(), pc.chans.begin(), pc.chans.end());
      cs.mem = first.mem;
    } else {
      cs.deps = {piece};
    }
    last = Add(list, std::move(cs));
  }
  *gathered = piece;
  ++tp_overlaps_;
  return last;
}

auto ProgramBuilder::EmitScatterPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                         const Step& first, const PipelinedComm& pc, int* scattered) -> int {
  int n = axis_sizes_[pc.conv.axis], piece = -1, last = -1;
  for (int c = 0; c < n; ++c) {
    Step cs = ComputeStep(i, phase, derived, recompute, n, c);
    if (c == 0) {
      cs.deps = first.deps;
      cs.channels = first.channels;
      cs.mem = first.mem;
    }
    last = Add(list, std::move(cs));
    piece = EmitPiece(list, pc, pc.conv.bytes / n, c + 1, n, phase, recompute, {last}, {});
  }
  *scattered = piece;
  ++tp_overlaps_;
  return last;
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
