// Data-parallel methods other than buckets (strategy/dp_method.h): every weight gradient of the
// stage was recorded in production order (AddToBuckets); here they are grouped by the method
// (grad_grouping.h) and each group is emitted as one bucket, after the backward's steps, waiting
// for its last gradient's step. A gradient's ready time is the end of its weight-gradient step on
// the in-order compute stream, from the steps' priced durations (the backward starts at 0).
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

namespace {

// Per step of `list`, when it ends if the compute stream runs its steps back to back.
std::vector<double> ComputeStreamEnds(const std::vector<Step>& list) {
  std::vector<double> ends(list.size(), 0);
  double t = 0;
  for (size_t k = 0; k < list.size(); ++k) {
    if (list[k].stream == StreamKind::kCompute) t += list[k].duration_s;
    ends[k] = t;
  }
  return ends;
}

// A group ready to emit: its bucket, the step it waits for, its issue time, its order key.
struct GroupToEmit {
  Bucket bucket;
  int dep = -1;
  double ready_s = 0;       // its last gradient's ready time (estimated)
  double not_before_s = 0;  // Horovod's cycle tick
  size_t order = 0;         // position of its last gradient in production order (ties: first emitted)
};

}  // namespace

AlphaBeta ProgramBuilder::FitDpAlphaBeta(const Bucket& b, const std::vector<GradReady>& grads) const {
  if (!in_.all_reduce_time)
    throw UserError(s_.origin, "dp_method mgwfbp needs the cluster's collective model (none given to the compiler)");
  int64_t small = grads.front().bytes, total = 0;
  for (const GradReady& g : grads) {
    small = std::min(small, g.bytes);
    total += g.bytes;
  }
  // A gradient reduced over several axes (dp and cp) runs one all-reduce per axis, back to back.
  auto time = [&](int64_t bytes) {
    double sum = 0;
    for (int a : b.axes) sum += in_.all_reduce_time(a, bytes, DType::kBf16);
    return sum;
  };
  return FitAlphaBeta(time, std::max<int64_t>(small, 1), total);
}

std::vector<GradGroup> ProgramBuilder::GroupGradients(const std::vector<GradReady>& grads, const Bucket& first) const {
  const DpReduction& r = s_.dp_reduction;
  switch (r.method) {
    case DpMethod::kBsp: return GroupBsp(grads);
    case DpMethod::kWfbp:
    case DpMethod::kPs: return GroupWfbp(grads);  // BytePS pushes each tensor as it is produced
    case DpMethod::kFusion: return GroupFusion(grads, r.fusion_threshold_bytes, r.fusion_cycle_s);
    case DpMethod::kMgWfbp: return GroupMgWfbp(grads, FitDpAlphaBeta(first, grads));
    case DpMethod::kBuckets: break;
  }
  PROTEUS_CHECK(false, "buckets are emitted as they fill (program_grad_buckets.cc)");
  return {};
}

void ProgramBuilder::EmitDpMethodGroups(StageState& st, std::vector<Step>& list, int backward_end) {
  const std::vector<double> ends = ComputeStreamEnds(list);
  // Gradients of different keys (partial axes, shard axis, experts) never share an all-reduce.
  std::map<std::tuple<std::vector<int>, int, bool>, std::vector<size_t>> by_key;
  for (size_t k = 0; k < st.pending.size(); ++k) by_key[st.pending[k].key].push_back(k);
  std::vector<GroupToEmit> out;
  for (const auto& [key, members] : by_key) {
    std::vector<GradReady> grads;
    for (size_t k : members) grads.push_back({ends[st.pending[k].wgrad_step], st.pending[k].piece.bytes});
    for (const GradGroup& g : GroupGradients(grads, st.pending[members.front()].piece)) {
      GroupToEmit e;
      e.bucket = st.pending[members[g.first]].piece;
      e.bucket.bytes = e.bucket.params = 0;
      e.bucket.ops.clear();
      for (int m = g.first; m <= g.last; ++m) {
        const Bucket& piece = st.pending[members[m]].piece;
        e.bucket.bytes += piece.bytes;
        e.bucket.params += piece.params;
        e.bucket.ops.insert(e.bucket.ops.end(), piece.ops.begin(), piece.ops.end());
      }
      const bool bsp = s_.dp_reduction.method == DpMethod::kBsp;
      e.dep = bsp ? backward_end : st.pending[members[g.last]].wgrad_step;
      e.ready_s = bsp ? (backward_end >= 0 ? ends[backward_end] : 0) : grads[g.last].ready_s;
      e.not_before_s = g.not_before_s;
      e.order = members[g.last];
      out.push_back(std::move(e));
    }
  }
  // The data-parallel stream runs them in the order they become ready.
  std::stable_sort(out.begin(), out.end(), [](const GroupToEmit& a, const GroupToEmit& b) { return a.order < b.order; });
  st.pending.clear();
  if (s_.dp_reduction.method == DpMethod::kPs) {
    std::vector<std::pair<Bucket, int>> tensors;
    for (const GroupToEmit& e : out) tensors.emplace_back(e.bucket, e.dep);
    return EmitPsTensors(list, tensors);
  }
  for (const GroupToEmit& e : out) {
    int dep = e.dep;
    if (e.not_before_s > e.ready_s) dep = AddCycleWait(list, e.not_before_s - e.ready_s, dep);
    EmitBucket(st, list, e.bucket, dep);
  }
}

void ProgramBuilder::EmitPsTensors(std::vector<Step>& list, const std::vector<std::pair<Bucket, int>>& tensors) {
  const int dp = mesh_.AxisIndex("dp");
  const int local = in_.dp_ranks_per_node;
  const bool network = axis_sizes_[dp] > local;  // one worker node: local reduce and broadcast only
  const AxisSpan node{local, false}, roots{local, true};
  int64_t piece = 0;  // the stage's next piece in the servers' round-robin
  // Each server serves its requests in order: a push and pull waits for the last one on any of
  // its servers (the ps stream is ordered by these dependencies only, exec_graph.h InOrder).
  const int64_t parts = s_.dp_reduction.ps_partition_bytes;
  const int servers = s_.dp_reduction.ps_servers > 0 ? s_.dp_reduction.ps_servers : axis_sizes_[dp] / local;
  std::vector<int> last_on_server(servers, -1);
  // BytePS' NCCL loop serves its reduce and broadcast queues as tasks become ready: the reduces run
  // in production order on the data-parallel stream, the broadcasts in pull order beside them (on
  // the ps stream, one after another by dependencies), so neither waits behind the other's queue.
  int last_broadcast = -1;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const auto& [b, dep] = tensors[k];
    if (b.shard_axis >= 0 || b.axes != std::vector<int>{dp})
      throw UserError(s_.origin == "shorthand" ? "--dp-method" : s_.origin + ": dp_method",
                      "ps reduces gradients over dp alone (dp_method ps): a sharded optimizer (ZeRO) is not "
                      "modelled with it");
    int last = dep;
    const std::string name = "ps tensor " + std::to_string(k);
    if (local > 1) {
      Step r = CollectiveStep(CollOp::kReduce, dp, b.bytes, DType::kBf16, Phase::kBwdWeight, name + " reduce (node)");
      r.span = node;
      r.last_microbatch_only = true;
      if (last >= 0) r.deps = {last};
      last = Add(list, std::move(r));
    }
    if (network) {
      Step p = CollectiveStep(CollOp::kAllReduce, dp, b.bytes, DType::kBf16, Phase::kBwdWeight, name + " push_pull");
      p.stream = StreamKind::kPsComm;
      p.compute_class = g_.Intern("ps push_pull");
      p.span = roots;
      p.ps_push_pull = true;
      p.ps_first_piece = piece;
      const int64_t pieces = (b.bytes + parts - 1) / parts;
      const int64_t touched = std::min<int64_t>(pieces, servers);  // servers this tensor's pieces reach
      p.last_microbatch_only = true;
      if (last >= 0) p.deps = {last};
      for (int64_t j = 0; j < touched; ++j) {
        const int before = last_on_server[(piece + j) % servers];
        if (before >= 0 && std::find(p.deps.begin(), p.deps.end(), before) == p.deps.end()) p.deps.push_back(before);
      }
      last = Add(list, std::move(p));
      for (int64_t j = 0; j < touched; ++j) last_on_server[(piece + j) % servers] = last;
      piece += pieces;
    }
    if (local == 1) continue;
    Step bc = CollectiveStep(CollOp::kBroadcast, dp, b.bytes, DType::kBf16, Phase::kBwdWeight, name + " broadcast (node)");
    bc.stream = StreamKind::kPsComm;
    bc.span = node;
    bc.last_microbatch_only = true;
    bc.deps = {last};
    if (last_broadcast >= 0) bc.deps.push_back(last_broadcast);
    last_broadcast = Add(list, std::move(bc));
  }
}

int ProgramBuilder::AddCycleWait(std::vector<Step>& list, double seconds, int dep) {
  // Horovod's background thread issues a fused all-reduce at its next cycle, not when the last
  // gradient is written: a timed host step on the copy stream (no GPU work, no interference).
  Step w;
  w.kind = TaskKind::kMemcpy;
  w.stream = StreamKind::kCopy;
  w.phase = Phase::kBwdWeight;
  w.duration_s = seconds;
  w.name = g_.Intern("horovod cycle wait");
  w.compute_class = g_.Intern("host wait");
  w.last_microbatch_only = true;
  if (dep >= 0) w.deps = {dep};
  return Add(list, std::move(w));
}

}  // namespace proteus::program_build
