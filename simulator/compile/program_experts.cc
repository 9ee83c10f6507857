// Expert parallelism (Strategy::expert_parallel, Megatron-Core's alltoall token dispatcher): the
// all_to_alls that carry routed tokens to their experts' ranks and back, and the EP share of the
// routed experts' weights.
//
// Model. ep ranks form an EP group: ep consecutive coordinates of the dp axis (an AxisSpan block, as
// HSDP's shard group). Each holds E / ep of every MoE layer's routed experts. Per MoE layer and
// micro-batch, forward: dispatch (permute -> routed fc1) and combine (routed fc2 -> unpermute) are
// each an all_to_all of the rank's token slots over the EP group; backward: the same two on the
// gradients. Each all_to_all's buffer is what the rank holds, mbs x s x k x h x dtype bytes (s the
// tokens of this rank: with tensor parallelism the TP ranks of a group split the tokens, each
// sending 1/tp, as Megatron-Core's dispatcher does with sequence parallelism), and (ep - 1) / ep of
// it leaves the GPU (topo/ prices it on the group's links); the receive buffer, the whole local
// buffer, is held while the exchange runs (memory category buffers). Uniform routing means every rank
// receives as many slots as it sends, so the expert GEMMs keep their sizes; the load skew of
// model/moe.h already sized them for the busiest rank.
// Worked example: Mixtral-8x22B (h 6144, k 2), seq 4096, mbs 1, tp 2, ep 8: 4096 / 2 x 2 x 6144 x 2
// = 50,331,648 bytes per all_to_all, 44,040,192 of them leaving each GPU, four per MoE layer and
// micro-batch.
#include "simulator/compile/program_builder.h"
#include "simulator/model/moe.h"

namespace proteus::program_build {

bool ProgramBuilder::CrossesExperts(int producer, int consumer) const {
  if (s_.expert_parallel <= 1 || producer < 0 || consumer < 0) return false;
  const Operator& p = ops_[producer].local;
  const Operator& c = ops_[consumer].local;
  return (p.attrs.count("moe_dispatch") && IsRoutedExpertOp(c)) || (IsRoutedExpertOp(p) && c.attrs.count("moe_combine"));
}

int ProgramBuilder::ExpertShards(int i) const {
  return s_.expert_parallel > 1 && IsRoutedExpertOp(ops_[i].local) ? s_.expert_parallel : 1;
}

int ProgramBuilder::EmitExpertAllToAll(std::vector<Step>& list, int i, const TensorUse& t, const std::string& what,
                                       Phase phase, bool recompute, std::vector<int32_t> deps,
                                       std::vector<int32_t> channels) {
  int dp = mesh_.AxisIndex("dp");
  PROTEUS_CHECK(dp >= 0, "validated: expert parallelism folds into a dp axis");
  TensorLayout l = Layout(i, t, LayoutUse::kRead);
  int64_t bytes = LocalBytes(l, GlobalBytes(i, t), axis_sizes_);
  // Tokens replicated over tp: each TP rank carries its 1/tp of them (Megatron-Core dispatches the
  // sequence-parallel shard and all-gathers over tp at the experts).
  int tp = mesh_.AxisIndex("tp");
  if (tp >= 0 && l[tp] == kReplicated) bytes /= axis_sizes_[tp];
  Step st = CollectiveStep(CollOp::kAllToAll, dp, bytes, t.dtype, phase, what + " all_to_all ep");
  // The token exchange sits on the critical path of the layer (Megatron-Core runs it on the
  // compute stream): the in-layer communication stream, not the gradient-reduction one.
  st.stream = StreamKind::kTpComm;
  st.span = {s_.expert_parallel, false};
  // The dispatcher's receive buffer: the rank's token slots arrive beside the ones it sends, and
  // the sent ones are released when the exchange ends (Megatron-Core's permuted-token buffers).
  int64_t buffer = LocalBytes(l, GlobalBytes(i, t), axis_sizes_);
  st.mem = {{MemCategory::kBuffers, false, buffer}, {MemCategory::kBuffers, true, -buffer}};
  st.recompute = recompute;
  st.deps = std::move(deps);
  st.channels = std::move(channels);
  return Add(list, std::move(st));
}

}  // namespace proteus::program_build
