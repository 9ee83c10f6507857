// Context parallelism (mesh axis cp, Megatron-Core --cp-comm-type p2p): ring attention on the
// fused attention core, and the data-parallel gradient reduction over dp x cp.
//
// Model. Every operator's sequence dim s is split over cp (strategy/shorthand.h), so each rank
// runs its per-token operators on s / cp tokens: 2 chunks of s / (2 cp), rank i holding chunks i
// and 2cp-1-i (Megatron's causal load balancing). The attention core of a rank runs as cp block
// steps against the K/V block it holds at that step; the blocks travel one hop around the cp ring
// per step (AttnFuncWithCPAndKVP2P):
//   forward   step j computes with block j while block j+1 arrives: cp - 1 K/V sends;
//   backward  the same, and the dK/dV accumulated so far travels with the block: K/V at steps
//             0..cp-2, dK/dV at steps 1..cp-1, the last one awaited before the gradient is done.
// With causal balance, the diagonal step 0 is causal attention of (s/cp) queries over (s/cp) keys
// and every other step non-causal attention of (s/cp) over half a block, (s/(2cp)): each step does
// the same work and the cp steps add to s^2 / (2 cp), 1 / cp of the sequence's causal attention.
// Non-causal models run every step over the whole block. One send per rank per step is a ring
// shift over the cp group (compile.cc: a collective step with op sendrecv): each rank sends
// K/V = 2 x b x (s/cp) x (kv_heads/tp) x head_dim x dtype bytes to its successor.
// Worked example (docs/strategies.md): Llama 3 8B at s 32,768, cp 2, tp 8: 2 x 16,384 x 1 x 128 x
// 2 = 8,388,608 bytes per ring step, one step forward and two backward (K/V, then dK/dV).
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

int ProgramBuilder::CpAxis() const { return mesh_.AxisIndex("cp"); }

bool ProgramBuilder::RingAttention(int i) const {
  const int cp = CpAxis();
  if (cp < 0 || axis_sizes_[cp] <= 1 || ops_[i].local.kind != OpKind::kAttention) return false;
  auto it = ops_[i].part.find("s");
  return it != ops_[i].part.end() && it->second == cp;
}

int64_t ProgramBuilder::RingKvBytes(int i) const {
  const Operator& op = ops_[i].local;
  const TensorUse* in = nullptr;
  for (const auto& t : op.tensors)
    if (t.role == TensorRole::kInput && !in) in = &t;
  PROTEUS_CHECK(in != nullptr, "the attention core reads its packed q/k/v");
  int64_t bytes = 2 * DTypeBytes(in->dtype);  // one key and one value head per kv group
  for (const char* d : {"b", "s", "g", "d"})
    if (const Dim* dim = op.FindDim(d)) bytes *= dim->size;
  return bytes;
}

Operator ProgramBuilder::RingBlock(int i, bool diagonal) const {
  Operator block = ops_[i].local;
  const Dim* s = block.FindDim("s");
  Dim* t = block.MutableDim("t");
  PROTEUS_CHECK(s && t, "ring attention splits an attention core's queries (s) against its keys (t)");
  const bool causal = block.attrs.count("causal") && block.attrs.at("causal") == "1";
  t->size = causal && !diagonal ? s->size / 2 : s->size;
  if (causal && !diagonal) block.attrs["causal"] = "0";  // a whole half block under the mask
  return block;
}

Step ProgramBuilder::RingBlockStep(int i, Phase phase, const Operator* derived, bool recompute, int j) {
  const int cp = axis_sizes_[CpAxis()];
  TaskCost c = in_.coster->Cost(RingBlock(i, j == 0), phase);
  Step st = PricedStep(c, phase);
  st.flops = (derived ? derived->ForwardFlops() : ops_[i].local.ForwardFlops()) / cp;
  st.recompute = recompute;
  std::string suffix = recompute ? "recompute" : std::string(PhaseName(phase));
  st.name = g_.Intern(ops_[i].r->path + " " + suffix + " ring " + ChunkOf{j, 1, cp}.Label());
  return st;
}

int ProgramBuilder::EmitRingAttention(std::vector<Step>& list, int i, Phase phase, const Operator* derived,
                                      bool recompute, Step first) {
  const int axis = CpAxis(), cp = axis_sizes_[axis];
  const bool backward = phase != Phase::kFwd;
  const int64_t block = RingKvBytes(i);
  const std::string& path = ops_[i].r->path;
  int comm = -1, compute = -1;
  for (int j = 0; j < cp; ++j) {
    // Issued before step j's compute: the block for step j + 1, and (backward) the dK/dV of step j - 1.
    const bool kv = j + 1 < cp, dkv = backward && j > 0;
    int sent = -1;
    if (kv || dkv) {
      std::string what = kv && dkv ? "k/v + dk/dv" : kv ? "k/v" : "dk/dv";
      Step c = CollectiveStep(CollOp::kSendRecv, axis, (kv ? block : 0) + (dkv ? block : 0), DType::kBf16, phase,
                              path + " ring " + what + " " + ChunkOf{j, 1, cp}.Label() + " sendrecv cp");
      c.recompute = recompute;
      if (j == 0) {
        c.deps = first.deps;
        c.channels = first.channels;
      } else {
        c.deps = {comm};
        if (dkv) c.deps.push_back(compute);
      }
      sent = Add(list, std::move(c));
    }
    Step s = RingBlockStep(i, phase, derived, recompute, j);
    if (j == 0) {
      s.deps = first.deps;
      s.channels = first.channels;
      s.mem = std::move(first.mem);
    } else {
      s.deps = {compute, comm};  // the block of this step has arrived
    }
    compute = Add(list, std::move(s));
    comm = sent;
  }
  if (!backward || comm < 0) return compute;
  // The gradient is whole once the last dK/dV has arrived.
  Step join = RingBlockStep(i, phase, derived, recompute, cp - 1);
  join.duration_s = 0;
  join.flops = 0;
  join.cost_key = -1;
  join.name = g_.Intern(path + " " + std::string(PhaseName(phase)) + " ring dk/dv received");
  join.deps = {compute, comm};
  return Add(list, std::move(join));
}

bool ProgramBuilder::ReducesOverContext(const Bucket& b) const {
  const int cp = CpAxis(), dp = mesh_.AxisIndex("dp");
  if (cp < 0 || axis_sizes_[cp] <= 1) return false;
  for (int a : b.axes)
    if (a != cp && a != dp) return false;
  return std::find(b.axes.begin(), b.axes.end(), cp) != b.axes.end();
}

// Megatron-Core reduces a bucket over the dp x cp group in one collective (and shards the
// distributed optimizer over it). Here it runs as the two-level equivalent, cp (inner, the faster
// axis) then dp on the 1/cp piece: reduce_scatter cp, then reduce_scatter dp (sharded optimizer:
// the parameter all_gathers follow in reverse, dp then cp) or all_reduce dp then all_gather cp.
// Each rank moves the same bytes as one collective over dp x cp, B (1 - 1 / (dp cp)) per
// reduce-scatter; a second launch latency is the difference.
void ProgramBuilder::EmitContextBucket(StageState& st, std::vector<Step>& list, const Bucket& b, int dep, int id) {
  const int cp = CpAxis(), dp = mesh_.AxisIndex("dp");
  const bool has_dp = std::find(b.axes.begin(), b.axes.end(), dp) != b.axes.end();
  const bool sharded = b.shard_axis >= 0;
  const int64_t piece = b.bytes / axis_sizes_[cp];
  int last = dep;
  int32_t chain = -1;
  auto add = [&](CollOp op, int axis, int64_t bytes, Phase phase, std::vector<Step>& to, bool tail) {
    Step s = CollectiveStep(op, axis, bytes, DType::kBf16, phase,
                            std::string(tail ? "param" : "grad") + " bucket " + std::to_string(id) + " " +
                                std::string(CollOpName(op)) + " " + axis_names_[axis]);
    s.stream = StreamKind::kDpComm;  // the data-parallel reduction's stream, beside the in-layer tp comm
    if (!tail) {
      s.last_microbatch_only = true;
      if (last >= 0) s.deps = {last};
      last = Add(to, std::move(s));
    } else {  // chained after the rank's previous parameter gather (BuildTail adds the optimizer step)
      if (chain >= 0) s.deps = {chain};
      chain = static_cast<int32_t>(to.size());
      to.push_back(std::move(s));
    }
  };
  add(CollOp::kReduceScatter, cp, b.bytes, Phase::kBwdWeight, list, false);
  if (has_dp) add(sharded ? CollOp::kReduceScatter : CollOp::kAllReduce, dp, piece, Phase::kBwdWeight, list, false);
  if (!sharded) {
    add(CollOp::kAllGather, cp, b.bytes, Phase::kBwdWeight, list, false);
    return;
  }
  for (int rank : RanksOfStage(s_.schedule, st.v, s_.PipelineRanks())) {
    auto& tail = job_.ranks[rank].tail;
    chain = -1;
    if (has_dp) add(CollOp::kAllGather, dp, piece, Phase::kStep, tail, true);
    add(CollOp::kAllGather, cp, b.bytes, Phase::kStep, tail, true);
  }
}

}  // namespace proteus::program_build
