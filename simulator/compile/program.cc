#include "simulator/compile/program.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "common/error.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/static_memory.h"
#include "simulator/model/backward.h"
#include "simulator/strategy/validate.h"

namespace proteus {
namespace {

struct OpInfo {
  const ResolvedOp* r = nullptr;
  Operator local;                       // local sizes
  AxisPartition part;
  int stage = 0;
  bool core = false;                    // attention core (selective recompute unit)
  Recompute mode = Recompute::kNone;
  std::string region;
  std::vector<Operator> bwd;            // derived from `local`
};

struct TensorInfo {
  int producer = -1, out_index = -1;
  std::vector<int> consumers;           // op indices, in order
};

struct Bucket {
  std::vector<int> axes;                // mesh axes the gradients are partial over
  int shard_axis = -1;                  // optimizer shard axis (reduce_scatter there)
  int64_t bytes = 0;
};

bool IsCore(const Operator& op) {
  return op.kind == OpKind::kAttention || op.kind == OpKind::kBatchedMatmul || op.kind == OpKind::kSoftmax ||
         (op.kind == OpKind::kDropout && op.FindDim("t") != nullptr);
}

std::string BaseName(const std::string& saved) { return saved.substr(0, saved.find('#')); }

class Builder {
 public:
  Builder(const ProgramInputs& in, ExecGraph& g) : in_(in), s_(*in.strategy), mesh_(*in.mesh), g_(g) {}

  JobProgram Build() {
    for (int a = 0; a < mesh_.NumAxes(); ++a) {
      axis_sizes_.push_back(mesh_.Size(a));
      axis_names_.push_back(mesh_.AxisName(a));
    }
    Analyze();
    int stages = s_.VirtualStages(), pp = s_.PipelineRanks();
    job_.ranks.resize(pp);
    for (int v = 0; v < stages; ++v) job_.stages.push_back(BuildStage(v));
    for (int p = 0; p < pp; ++p) BuildTail(p);
    job_.num_channels = static_cast<int>(channel_sender_.size());
    job_.channel_sender_stage = channel_sender_;
    return std::move(job_);
  }

 private:
  // ---- analysis: local ops, partitions, dataflow ----
  void Analyze() {
    const auto& rops = in_.resolved->ops;
    ops_.resize(rops.size());
    for (size_t i = 0; i < rops.size(); ++i) {
      OpInfo& o = ops_[i];
      o.r = &rops[i];
      o.stage = std::max(0, rops[i].settings.stage);
      o.mode = rops[i].settings.recompute;
      o.region = rops[i].settings.recompute_region;
      o.core = IsCore(*rops[i].op);
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

  const Operator& Global(int i) const { return *ops_[i].r->op; }

  int64_t GlobalBytes(int i, const TensorUse& t) const {
    int64_t n = DTypeBytes(t.dtype);
    for (const auto& ax : t.axes)
      if (const Dim* d = Global(i).FindDim(ax)) n *= GlobalDimSize(*d, s_);
    return n;
  }

  TensorLayout Layout(int i, const TensorUse& t, LayoutUse use) const {
    return LayoutOf(ops_[i].local, ops_[i].part, t.axes, use, mesh_.NumAxes());
  }

  TensorLayout WriteLayoutOf(const std::string& tensor) const {
    const TensorInfo& ti = tensors_.at(tensor);
    return Layout(ti.producer, ops_[ti.producer].local.tensors[ti.out_index], LayoutUse::kWrite);
  }

  StreamKind StreamOfAxis(int axis) const {
    return mesh_.AxisName(axis) == "dp" ? StreamKind::kDpComm : StreamKind::kTpComm;
  }

  int Channel(const std::string& tensor, bool forward, int other_stage, int sender_stage) {
    std::string key = tensor + (forward ? "|f|" : "|b|") + std::to_string(other_stage);
    auto [it, inserted] = channels_.emplace(key, static_cast<int>(channel_sender_.size()));
    if (inserted) channel_sender_.push_back(sender_stage);
    return it->second;
  }

  static int Add(std::vector<Step>& list, Step s) {
    list.push_back(std::move(s));
    return static_cast<int>(list.size()) - 1;
  }

  // Collectives converting a tensor; returns the last step, or -1 when none were needed.
  int EmitConversions(std::vector<Step>& list, const std::vector<Conversion>& convs, const std::string& what,
                      DType dtype, Phase phase, bool recompute, std::vector<int32_t> deps,
                      std::vector<int32_t> channels) {
    int last = -1;
    for (const auto& c : convs) {
      Step st;
      st.kind = TaskKind::kCollective;
      st.stream = StreamOfAxis(c.axis);
      st.phase = phase;
      st.op = c.op;
      st.axis = c.axis;
      st.bytes = c.bytes;
      st.dtype = dtype;
      st.recompute = recompute;
      st.name = g_.Intern(what + " " + std::string(CollOpName(c.op)) + " " + axis_names_[c.axis]);
      st.compute_class = g_.Intern(CollOpName(c.op));
      st.deps = last >= 0 ? std::vector<int32_t>{last} : deps;
      if (last < 0) st.channels = channels;
      last = Add(list, std::move(st));
    }
    return last;
  }

  Step ComputeStep(int i, Phase phase, const Operator* derived, bool recompute) {
    const OpInfo& o = ops_[i];
    TaskCost c = in_.coster->Cost(o.local, phase);
    Step st;
    st.kind = TaskKind::kCompute;
    st.stream = StreamKind::kCompute;
    st.phase = phase;
    st.duration_s = c.seconds;
    st.source = c.source;
    if (!c.key.empty()) st.cost_key = g_.Intern(c.key);
    st.compute_class = g_.Intern(c.compute_class);
    st.flops = derived ? derived->ForwardFlops() : o.local.ForwardFlops();
    st.recompute = recompute;
    std::string suffix = recompute ? "recompute" : std::string(PhaseName(phase));
    st.name = g_.Intern(o.r->path + " " + suffix);
    return st;
  }

  // ---- activation memory ----
  struct SavedPlan {
    int64_t fwd_bytes = 0;       // allocated by the forward step, freed by the last backward step
    int64_t recompute_bytes = 0; // allocated by the recompute step
    std::set<std::string> regather;  // inputs kept sharded and gathered again for backward
  };

  int64_t SavedTensorBytes(int i, const SavedTensor& st, const std::map<std::string, int64_t>& gather_factor) const {
    int64_t n = st.bytes_per_element;
    for (const auto& ax : st.axes)
      if (const Dim* d = ops_[i].local.FindDim(ax)) n *= d->size;
    auto it = gather_factor.find(st.name);
    return it == gather_factor.end() ? n : n / it->second;
  }

  // ---- stage programs ----
  struct StageState {
    int v = 0;
    std::vector<int> ops;                         // op indices in this stage
    std::map<int, int> fwd_step, bwd_data_step;   // op -> step
    std::map<std::string, int> conv_cache;        // tensor|layout -> last conversion step (forward)
    std::set<std::string> allocated;              // saved names already allocated in forward
    std::map<int, SavedPlan> saved;
    std::map<std::string, int64_t> region_input_bytes;
    std::set<std::string> sent_grad;              // tensors whose gradient was sent back
    std::set<std::string> bucketed;               // weights already in a bucket
    std::map<std::pair<std::vector<int>, int>, Bucket> open;
  };

  StageProgram BuildStage(int v) {
    StageState st;
    st.v = v;
    for (size_t i = 0; i < ops_.size(); ++i)
      if (ops_[i].stage == v) st.ops.push_back(static_cast<int>(i));
    StageProgram prog;
    prog.stage = v;
    for (int i : st.ops) PlanSaved(st, i);
    for (size_t k = 0; k < st.ops.size(); ++k) EmitForward(st, prog.forward, st.ops[k], k);
    for (size_t k = st.ops.size(); k-- > 0;) EmitBackward(st, prog.backward, st.ops[k], k);
    FlushBuckets(st, prog.backward, LastCompute(prog.backward));
    AccountWeights(st);
    return prog;
  }

  bool InFullRegion(int i) const { return ops_[i].mode == Recompute::kFull; }
  bool SelectiveCore(int i) const { return ops_[i].mode == Recompute::kSelective && ops_[i].core; }

  void PlanSaved(StageState& st, int i) {
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
      if (gather.count(sv.name)) plan.regather.insert(sv.name);
      bool keep = !InFullRegion(i);
      if (SelectiveCore(i)) {
        int p = tensors_.count(BaseName(sv.name)) ? tensors_[BaseName(sv.name)].producer : -1;
        bool input = o.local.FindTensor(BaseName(sv.name)) &&
                     o.local.FindTensor(BaseName(sv.name))->role == TensorRole::kInput;
        keep = input && (p < 0 || !SelectiveCore(p));
      }
      if (keep) {
        if (st.allocated.insert(sv.name).second) plan.fwd_bytes += bytes;
      } else {
        plan.recompute_bytes += bytes;
      }
    }
    st.saved[i] = plan;
  }

  bool FirstOfRegion(const StageState& st, size_t k) const {
    int i = st.ops[k];
    return InFullRegion(i) && (k == 0 || !InFullRegion(st.ops[k - 1]) || ops_[st.ops[k - 1]].region != ops_[i].region);
  }
  bool LastOfRun(const StageState& st, size_t k, bool selective) const {
    int i = st.ops[k];
    auto same = [&](int j) {
      return selective ? SelectiveCore(j) : (InFullRegion(j) && ops_[j].region == ops_[i].region);
    };
    return same(i) && (k + 1 == st.ops.size() || !same(st.ops[k + 1]));
  }

  // Bytes of the tensors a full-recompute region reads from outside itself (kept instead of its
  // activations).
  int64_t RegionInputBytes(const StageState& st, size_t k0) {
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

  // One forward operator: input conversions, the compute step, sends. `scope` (recompute) holds the
  // ops being recomputed together; inputs from outside it are the kept ones (no dependency).
  void EmitForwardOp(StageState& st, std::vector<Step>& list, int i, bool recompute, std::map<int, int>& op_step,
                     std::map<std::string, int>& cache, const std::set<int>* scope, std::vector<MemEffect> mem) {
    const OpInfo& o = ops_[i];
    std::vector<int32_t> deps, chans;
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
      int last = EmitConversions(list, convs, t.name, t.dtype, Phase::kFwd, recompute, src_deps, src_chans);
      if (last >= 0) {
        cache[key] = last;
        deps.push_back(last);
      } else {
        for (int c : src_chans) chans.push_back(c);
      }
    }
    Step cs = ComputeStep(i, Phase::kFwd, nullptr, recompute);
    cs.deps = deps;
    cs.channels = chans;
    cs.mem = std::move(mem);
    int step = Add(list, std::move(cs));
    op_step[i] = step;
    if (recompute) return;
    for (const auto& t : o.local.tensors) {
      if (t.role != TensorRole::kOutput) continue;
      const TensorInfo& ti = tensors_[t.name];
      TensorLayout wl = Layout(i, t, LayoutUse::kWrite);
      if (ti.consumers.empty()) {  // a final output (the loss) is reduced to every rank
        auto convs = ConvertLayout(wl, GradientLayoutFor(wl), GlobalBytes(i, t), axis_sizes_);
        EmitConversions(list, convs, t.name, t.dtype, Phase::kFwd, false, {step}, {});
      }
      std::set<int> dst;
      for (int c : ti.consumers)
        if (ops_[c].stage != st.v) dst.insert(ops_[c].stage);
      for (int w : dst)
        EmitSend(list, t.name, true, st.v, w, LocalBytes(wl, GlobalBytes(i, t), axis_sizes_), t.dtype, step, Phase::kFwd);
    }
  }

  void EmitSend(std::vector<Step>& list, const std::string& tensor, bool forward, int from, int to, int64_t bytes,
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

  void EmitForward(StageState& st, std::vector<Step>& list, int i, size_t k) {
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

  void EmitRecompute(StageState& st, std::vector<Step>& list, size_t k_last, bool selective) {
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

  static int LastCompute(const std::vector<Step>& list) {
    for (int k = static_cast<int>(list.size()) - 1; k >= 0; --k)
      if (list[k].kind == TaskKind::kCompute) return k;
    return -1;
  }

  // Gradients of op i's outputs, converted to the layout op i expects; returns deps and channels.
  void GatherOutputGrads(StageState& st, std::vector<Step>& list, int i, std::vector<int32_t>& deps,
                         std::vector<int32_t>& chans) {
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
        auto convs = ConvertLayout(from, want, GlobalBytes(i, t), axis_sizes_);
        int last = EmitConversions(list, convs, "grad " + t.name, t.dtype, Phase::kBwdData, false, src_deps, src_chans);
        if (last >= 0) deps.push_back(last);
        else chans.insert(chans.end(), src_chans.begin(), src_chans.end());
      }
    }
  }

  void EmitBackward(StageState& st, std::vector<Step>& list, int i, size_t k) {
    if (LastOfRun(st, k, false)) EmitRecompute(st, list, k, false);
    else if (LastOfRun(st, k, true)) EmitRecompute(st, list, k, true);
    std::vector<int32_t> deps, chans;
    GatherOutputGrads(st, list, i, deps, chans);
    const OpInfo& o = ops_[i];
    // Inputs kept sharded (sequence parallel) are gathered again for the weight gradient.
    std::vector<int32_t> regather;
    for (const auto& name : st.saved[i].regather) {
      const TensorUse* t = o.local.FindTensor(name);
      auto convs = ConvertLayout(WriteLayoutOf(name), Layout(i, *t, LayoutUse::kRead), GlobalBytes(i, *t), axis_sizes_);
      int last = EmitConversions(list, convs, name + " regather", t->dtype, Phase::kBwdWeight, false, {}, {});
      if (last >= 0) regather.push_back(last);
    }
    int last_step = -1;
    for (const auto& d : o.bwd) {
      Step cs = ComputeStep(i, d.phase, &d, false);
      cs.deps = deps;
      cs.channels = chans;
      if (d.phase == Phase::kBwdWeight) cs.deps.insert(cs.deps.end(), regather.begin(), regather.end());
      last_step = Add(list, std::move(cs));
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
    int64_t free_bytes = st.saved[i].fwd_bytes + st.saved[i].recompute_bytes;
    if (FirstOfRegion(st, k)) free_bytes += st.region_input_bytes[o.region];
    if (free_bytes > 0) list[last_step].mem.push_back({MemCategory::kActivations, true, -free_bytes});
    SendInputGrads(st, list, i);
    if (o.local.WeightParams() > 0) AddToBuckets(st, list, i, last_step);
  }

  void SendInputGrads(StageState& st, std::vector<Step>& list, int i) {
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

  // ---- data-parallel gradient reduction ----
  void AddToBuckets(StageState& st, std::vector<Step>& list, int i, int wgrad_step) {
    const OpInfo& o = ops_[i];
    int shard = o.r->settings.optimizer.empty() ? -1 : mesh_.AxisIndex(o.r->settings.optimizer);
    for (const auto& t : o.local.tensors) {
      if (t.role != TensorRole::kWeight || !st.bucketed.insert(t.name).second) continue;
      TensorLayout gl = Layout(i, t, LayoutUse::kWeightGrad);
      std::vector<int> axes;
      for (int a = 0; a < static_cast<int>(gl.size()); ++a)
        if (gl[a] == kPartial && axis_sizes_[a] > 1) axes.push_back(a);
      if (axes.empty()) continue;
      auto key = std::make_pair(axes, shard);
      Bucket& b = st.open[key];
      b.axes = axes;
      b.shard_axis = shard;
      b.bytes += LocalBytes(gl, GlobalBytes(i, t), axis_sizes_);
      if (s_.overlap_grad_reduce && b.bytes >= s_.grad_bucket_bytes) {
        EmitBucket(st, list, b, wgrad_step);
        st.open.erase(key);
      }
    }
  }

  void FlushBuckets(StageState& st, std::vector<Step>& list, int dep) {
    for (auto& [key, b] : st.open) EmitBucket(st, list, b, dep);
    st.open.clear();
  }

  void EmitBucket(StageState& st, std::vector<Step>& list, const Bucket& b, int dep) {
    int id = bucket_count_++;
    int last = dep;
    for (int a : b.axes) {
      Step s;
      s.kind = TaskKind::kCollective;
      s.stream = StreamOfAxis(a);
      s.phase = Phase::kBwdWeight;
      s.op = a == b.shard_axis ? CollOp::kReduceScatter : CollOp::kAllReduce;
      s.axis = a;
      s.bytes = b.bytes;
      s.last_microbatch_only = true;
      s.name = g_.Intern("grad bucket " + std::to_string(id) + " " + std::string(CollOpName(s.op)) + " " + axis_names_[a]);
      s.compute_class = g_.Intern(CollOpName(s.op));
      if (last >= 0) s.deps = {last};
      last = Add(list, std::move(s));
    }
    if (b.shard_axis >= 0) {
      RankState& rs = job_.ranks[st.v % s_.PipelineRanks()];
      Step ag;
      ag.kind = TaskKind::kCollective;
      ag.stream = StreamOfAxis(b.shard_axis);
      ag.phase = Phase::kStep;
      ag.op = CollOp::kAllGather;
      ag.axis = b.shard_axis;
      ag.bytes = b.bytes;
      ag.name = g_.Intern("param bucket " + std::to_string(id) + " all_gather " + axis_names_[b.shard_axis]);
      ag.compute_class = g_.Intern("all_gather");
      rs.tail.push_back(std::move(ag));
    }
  }

  // ---- static memory and the optimizer step ----
  void AccountWeights(StageState& st) {
    RankState& rs = job_.ranks[st.v % s_.PipelineRanks()];
    std::set<std::string> seen;
    for (int i : st.ops) {
      const OpInfo& o = ops_[i];
      for (const auto& t : o.local.tensors) {
        if (t.role != TensorRole::kWeight || !seen.insert(t.name).second) continue;
        int64_t params = LocalBytes(Layout(i, t, LayoutUse::kRead), GlobalBytes(i, t), axis_sizes_) / DTypeBytes(t.dtype);
        auto shards_over = [&](const std::string& axis) { return axis.empty() ? 1 : s_.AxisSize(axis); };
        ParamShards shards{shards_over(o.r->settings.weights), shards_over(o.r->settings.grads),
                           shards_over(o.r->settings.optimizer)};
        ParamStateBytes b = ParamStateOf(params, t.dtype, s_.precision, shards);  // static_memory.h
        rs.weight_bytes += b.weights;
        rs.grad_bytes += b.grads;
        rs.optimizer_bytes += b.optimizer;
        rs.step_grad_copy_bytes += b.step_grad_copy;
        rs.step_params += params / shards.optimizer;
        rs.step_dtype = t.dtype;
      }
    }
  }

  void BuildTail(int p) {
    RankState& rs = job_.ranks[p];
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
    std::vector<Step> tail = {step};
    for (auto& ag : rs.tail) {
      ag.deps = {0};
      tail.push_back(ag);
    }
    rs.tail = std::move(tail);
  }

  const ProgramInputs& in_;
  const Strategy& s_;
  const DeviceMesh& mesh_;
  ExecGraph& g_;
  JobProgram job_;
  std::vector<OpInfo> ops_;
  std::unordered_map<std::string, TensorInfo> tensors_;
  std::vector<int> axis_sizes_;
  std::vector<std::string> axis_names_;
  std::map<std::string, int> channels_;
  std::vector<int> channel_sender_;
  int bucket_count_ = 0;
};

}  // namespace

JobProgram BuildJobProgram(const ProgramInputs& in, ExecGraph& graph) { return Builder(in, graph).Build(); }

}  // namespace proteus
