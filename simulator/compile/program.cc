#include "simulator/compile/program.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "common/error.h"
#include "simulator/compile/fp8_gemm.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/tp_overlap.h"
#include "simulator/compile/weight_units.h"
#include "simulator/compile/schedule.h"
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
  bool fp8 = false;                     // Transformer Engine fp8 GEMM (fp8_gemm.h)
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
  std::vector<int> ops;                 // operators whose weight gradients it holds
};

// The parameters one gather unit of sharded weights all-gathers (weight_units.h).
struct UnitPlan {
  std::string name;
  std::vector<size_t> ks;               // positions in the stage's operator list, in order
  int axis = -1;                        // shard axis
  int64_t bytes = 0;                    // unsharded local weight bytes: the all_gather size
  DType dtype = DType::kBf16;
  std::set<std::string> weights;
  int fwd_gather = -1, fwd_last = -1;   // forward list: its all_gather, its last compute step
  int bwd_gather = -1, bwd_first = -1, bwd_last = -1;  // backward list
};

// A distributed-optimizer parameter all_gather moved into the next forward (overlap_param_gather).
struct ParamGather {
  int axis = -1;
  int64_t bytes = 0;
  std::vector<int> ops;
  int id = 0;
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

  // Chunk `index` of `chunks` of a pipelined GEMM (tp_overlap.h) takes that share of the whole.
  Step ComputeStep(int i, Phase phase, const Operator* derived, bool recompute, int chunks = 1, int index = 0) {
    const OpInfo& o = ops_[i];
    TaskCost c = o.fp8 ? in_.coster->Cost(Fp8PricedOp(o.local, phase, s_.fp8), phase)
                       : in_.coster->Cost(o.local, phase);
    Step st;
    st.kind = TaskKind::kCompute;
    st.stream = StreamKind::kCompute;
    st.phase = phase;
    st.duration_s = c.seconds / chunks;
    st.cost_share = 1.0f / static_cast<float>(chunks);
    st.source = c.source;
    if (!c.key.empty()) st.cost_key = g_.Intern(c.key);
    st.compute_class = g_.Intern(c.compute_class);
    st.flops = (derived ? derived->ForwardFlops() : o.local.ForwardFlops()) / chunks;
    st.recompute = recompute;
    std::string suffix = recompute ? "recompute" : std::string(PhaseName(phase));
    if (chunks > 1) suffix += " [" + std::to_string(index + 1) + "/" + std::to_string(chunks) + "]";
    st.name = g_.Intern(o.r->path + " " + suffix);
    return st;
  }

  // ---- tensor-parallel communication overlap (tp_overlap.h) ----
  struct PipelinedComm {
    Conversion conv;
    std::string tensor;
    DType dtype = DType::kBf16;
    std::vector<int32_t> deps, chans;   // what the communication waits for
    std::string cache_key;              // forward: where the converted tensor is cached
  };

  // A single tp all_gather / reduce_scatter next to GEMM op i that can be pipelined with it.
  std::optional<Conversion> Pipelinable(int i, const std::vector<Conversion>& convs, CollOp op) const {
    if (!s_.tp_comm_overlap || ops_[i].local.kind != OpKind::kLinear) return std::nullopt;
    auto c = SingleCollective(convs, op, axis_sizes_);
    if (!c || StreamOfAxis(c->axis) != StreamKind::kTpComm) return std::nullopt;
    if (!SplitsAlongSequence(ops_[i].local, axis_sizes_[c->axis])) return std::nullopt;
    return c;
  }

  int EmitPiece(std::vector<Step>& list, const PipelinedComm& pc, int64_t bytes, int index, int pieces, Phase phase,
                bool recompute, std::vector<int32_t> deps, std::vector<int32_t> chans) {
    std::string what = pc.tensor + " [" + std::to_string(index) + "/" + std::to_string(pieces) + "]";
    int k = EmitConversions(list, {{pc.conv.op, pc.conv.axis, bytes}}, what, pc.dtype, phase, recompute, std::move(deps),
                            std::move(chans));
    list[k].userbuffers = true;
    return k;
  }

  // The all_gather in n - 1 pieces in front of op i's `phase` in n chunks: chunk 0 runs on the local
  // shard, chunk c waits for piece c. `first` carries the compute's own deps, channels and memory.
  // Returns the last chunk; `gathered` is set to the last piece.
  int EmitGatherPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                          const Step& first, const PipelinedComm& pc, int* gathered) {
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

  // Op i's `phase` in n chunks, each followed by the reduce_scatter of its share of the output.
  // Returns the last chunk; `scattered` is set to the last piece.
  int EmitScatterPipelined(std::vector<Step>& list, int i, Phase phase, const Operator* derived, bool recompute,
                           const Step& first, const PipelinedComm& pc, int* scattered) {
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

  // Forward: an output of op i that a consumer of this stage reduce-scatters over tp.
  std::optional<PipelinedComm> ScatterAfterForward(int stage, int i) const {
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

  // Backward: an input gradient of op i that its producer (this stage) needs reduce-scattered over tp.
  std::optional<PipelinedComm> ScatterAfterBackward(int stage, int i) const {
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

  // Transformer Engine's cast kernels before an fp8 GEMM phase, awaiting what the GEMM awaits.
  void EmitFp8Casts(std::vector<Step>& list, int i, Phase phase, bool recompute, const std::vector<int32_t>& deps,
                    const std::vector<int32_t>& chans) {
    if (!ops_[i].fp8) return;
    for (Step& c : Fp8CastSteps(ops_[i].local, ops_[i].r->path, phase, s_.fp8, recompute, *in_.coster, g_)) {
      c.deps = deps;
      c.channels = chans;
      Add(list, std::move(c));
    }
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
    auto it = gather_factor.find(Fp8SavedSource(st.name));
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
    std::vector<UnitPlan> units;                  // sharded-weight gather units, in execution order
    std::map<size_t, int> unit_of;                // stage position -> unit
    int next_fwd_gather = 0, next_bwd_gather = -1;
    std::vector<ParamGather> param_gathers;       // overlapped with the first forward
    std::map<std::pair<std::string, int>, int> grad_scattered;  // (tensor, consumer) -> last pipelined piece
  };

  StageProgram BuildStage(int v) {
    StageState st;
    st.v = v;
    for (size_t i = 0; i < ops_.size(); ++i)
      if (ops_[i].stage == v) st.ops.push_back(static_cast<int>(i));
    StageProgram prog;
    prog.stage = v;
    for (int i : st.ops) PlanSaved(st, i);
    PlanUnits(st);
    for (size_t k = 0; k < st.ops.size(); ++k) {
      int u = UnitAt(st, k);
      if (u >= 0 && st.units[u].ks.front() == k) EmitForwardGathers(st, prog.forward, u);
      size_t first_new = prog.forward.size();
      EmitForward(st, prog.forward, st.ops[k], k);
      if (u >= 0) AfterUnitForwardOp(st, prog.forward, u, k, first_new);
    }
    st.next_bwd_gather = static_cast<int>(st.units.size()) - 1;
    for (size_t k = st.ops.size(); k-- > 0;) {
      int u = UnitAt(st, k);
      bool unit_begins = u >= 0 && st.units[u].ks.back() == k;  // backward runs the unit from its end
      if (unit_begins && s_.weight_gather.reshard_after_forward) EmitBackwardGathers(st, prog.backward, u);
      size_t first_new = prog.backward.size();
      EmitBackward(st, prog.backward, st.ops[k], k);
      if (u >= 0) AfterUnitBackwardOp(st, prog.backward, u, k, first_new);
    }
    FlushBuckets(st, prog.backward, LastCompute(prog.backward));
    PrependParamGathers(st, prog.forward);
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
      if (gather.count(Fp8SavedSource(sv.name))) plan.regather.insert(Fp8SavedSource(sv.name));
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
      if (!gather) {
        if (auto conv = Pipelinable(i, convs, CollOp::kAllGather)) {
          gather = PipelinedComm{*conv, t.name, t.dtype, src_deps, src_chans, key};
          continue;
        }
      }
      int last = EmitConversions(list, convs, t.name, t.dtype, Phase::kFwd, recompute, src_deps, src_chans);
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
    if (gather) {
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
  // A gradient all-gather that op i's data gradient can pipeline is returned in `gather` instead.
  void GatherOutputGrads(StageState& st, std::vector<Step>& list, int i, std::vector<int32_t>& deps,
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

  void EmitBackward(StageState& st, std::vector<Step>& list, int i, size_t k) {
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
      if (d.phase == Phase::kBwdData && gather) {
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
    if (!o.r->settings.weights.empty()) return;  // reduce-scattered per gather unit
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
      b.ops.push_back(i);
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
    if (b.shard_axis >= 0 && s_.overlap_param_gather) {
      st.param_gathers.push_back({b.shard_axis, b.bytes, b.ops, id});
    } else if (b.shard_axis >= 0) {
      RankState& rs = job_.ranks[RankOfStage(s_.schedule, st.v, s_.PipelineRanks())];
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

  // ---- sharded weights (ZeRO-3 / FSDP) ----
  int UnitAt(const StageState& st, size_t k) const {
    auto it = st.unit_of.find(k);
    return it == st.unit_of.end() ? -1 : it->second;
  }

  void PlanUnits(StageState& st) {
    for (size_t k = 0; k < st.ops.size(); ++k) {
      int i = st.ops[k];
      const OpInfo& o = ops_[i];
      if (o.r->settings.weights.empty() || o.local.WeightParams() == 0) continue;
      std::string name = GatherUnitOf(o.r->path, s_.weight_gather.unit);
      // Operators without weights between a unit's operators do not split it.
      if (st.units.empty() || st.units.back().name != name) {
        UnitPlan u;
        u.name = name;
        u.axis = mesh_.AxisIndex(o.r->settings.weights);
        st.units.push_back(std::move(u));
      }
      UnitPlan& u = st.units.back();
      u.ks.push_back(k);
      st.unit_of[k] = static_cast<int>(st.units.size()) - 1;
      for (const auto& t : o.local.tensors) {
        if (t.role != TensorRole::kWeight || !u.weights.insert(t.name).second) continue;
        u.bytes += LocalBytes(Layout(i, t, LayoutUse::kRead), GlobalBytes(i, t), axis_sizes_);
        u.dtype = t.dtype;
      }
    }
  }

  Step UnitCollective(const UnitPlan& u, CollOp op, Phase phase, const std::string& what) {
    Step s;
    s.kind = TaskKind::kCollective;
    s.stream = StreamOfAxis(u.axis);
    s.phase = phase;
    s.op = op;
    s.axis = u.axis;
    s.bytes = u.bytes;
    s.dtype = u.dtype;
    s.name = g_.Intern(u.name + " " + what + " " + std::string(CollOpName(op)) + " " + axis_names_[u.axis]);
    s.compute_class = g_.Intern(CollOpName(op));
    return s;
  }

  // Gathers up to `prefetch` units past `u`; each is issued once the unit `prefetch` + 1 before it
  // has finished (FSDP2 issues the next unit's all_gather when a unit's forward starts).
  void EmitForwardGathers(StageState& st, std::vector<Step>& list, int u) {
    int n = static_cast<int>(st.units.size()), ahead = s_.weight_gather.prefetch;
    for (; st.next_fwd_gather <= std::min(u + ahead, n - 1); ++st.next_fwd_gather) {
      int g = st.next_fwd_gather, gate = g - ahead - 1;
      Step ag = UnitCollective(st.units[g], CollOp::kAllGather, Phase::kFwd, "weights");
      if (gate >= 0) ag.deps = {st.units[gate].fwd_last};
      ag.mem.push_back({MemCategory::kBuffers, false, st.units[g].bytes});
      st.units[g].fwd_gather = Add(list, std::move(ag));
    }
  }

  static int FirstComputeFrom(const std::vector<Step>& list, size_t from) {
    for (size_t k = from; k < list.size(); ++k)
      if (list[k].kind == TaskKind::kCompute) return static_cast<int>(k);
    return -1;
  }

  void AfterUnitForwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new) {
    UnitPlan& unit = st.units[u];
    if (unit.ks.front() == k) {
      int first = FirstComputeFrom(list, first_new);
      if (first >= 0) list[first].deps.push_back(unit.fwd_gather);
    }
    if (unit.ks.back() != k) return;
    unit.fwd_last = LastCompute(list);
    if (s_.weight_gather.reshard_after_forward)
      list[unit.fwd_last].mem.push_back({MemCategory::kBuffers, true, -unit.bytes});
  }

  // Backward runs units in reverse: unit g's gather waits for unit g + prefetch + 1's backward.
  void EmitBackwardGathers(StageState& st, std::vector<Step>& list, int u) {
    int n = static_cast<int>(st.units.size()), ahead = s_.weight_gather.prefetch;
    for (; st.next_bwd_gather >= std::max(u - ahead, 0); --st.next_bwd_gather) {
      int g = st.next_bwd_gather, gate = g + ahead + 1;
      Step ag = UnitCollective(st.units[g], CollOp::kAllGather, Phase::kBwdData, "weights");
      if (gate < n) ag.deps = {st.units[gate].bwd_last};
      ag.mem.push_back({MemCategory::kBuffers, false, st.units[g].bytes});
      st.units[g].bwd_gather = Add(list, std::move(ag));
    }
  }

  void AfterUnitBackwardOp(StageState& st, std::vector<Step>& list, int u, size_t k, size_t first_new) {
    UnitPlan& unit = st.units[u];
    if (unit.ks.back() == k) {
      unit.bwd_first = FirstComputeFrom(list, first_new);
      if (unit.bwd_first >= 0) {
        if (unit.bwd_gather >= 0) list[unit.bwd_first].deps.push_back(unit.bwd_gather);
        // The unit's unsharded gradients, until they are reduce-scattered.
        list[unit.bwd_first].mem.push_back({MemCategory::kBuffers, false, unit.bytes});
      }
    }
    if (unit.ks.front() != k) return;
    unit.bwd_last = LastCompute(list);
    list[unit.bwd_last].mem.push_back({MemCategory::kBuffers, true, -unit.bytes});  // gathered weights
    Step rs = UnitCollective(unit, CollOp::kReduceScatter, Phase::kBwdWeight, "grads");
    rs.deps = {unit.bwd_last};
    if (unit.bwd_first >= 0) rs.mem.push_back({MemCategory::kBuffers, true, -unit.bytes});
    Add(list, std::move(rs));
  }

  // ---- overlapped distributed-optimizer parameter gathers ----
  // Puts the gathers before the forward's steps (first micro-batch only), first layers first, and
  // makes the first operator reading a bucket's weights wait for its gather.
  void PrependParamGathers(StageState& st, std::vector<Step>& forward) {
    if (st.param_gathers.empty()) return;
    std::vector<Step> out;
    for (auto it = st.param_gathers.rbegin(); it != st.param_gathers.rend(); ++it) {
      Step ag;
      ag.kind = TaskKind::kCollective;
      ag.stream = StreamOfAxis(it->axis);
      ag.phase = Phase::kFwd;
      ag.op = CollOp::kAllGather;
      ag.axis = it->axis;
      ag.bytes = it->bytes;
      ag.first_microbatch_only = true;
      ag.name = g_.Intern("param bucket " + std::to_string(it->id) + " all_gather " + axis_names_[it->axis] +
                          " (overlapped)");
      ag.compute_class = g_.Intern("all_gather");
      out.push_back(std::move(ag));
    }
    int32_t shift = static_cast<int32_t>(out.size());
    for (auto& step : forward) {
      for (auto& d : step.deps) d += shift;
      out.push_back(std::move(step));
    }
    for (int32_t g = 0; g < shift; ++g) {
      const ParamGather& pg = st.param_gathers[st.param_gathers.size() - 1 - g];
      int first = -1;
      for (int op : pg.ops)
        if (auto f = st.fwd_step.find(op); f != st.fwd_step.end() && (first < 0 || f->second < first)) first = f->second;
      if (first >= 0) out[first + shift].deps.push_back(g);
    }
    forward = std::move(out);
  }

  // ---- weights shared across pipeline ranks ----
  // Megatron's embedding group: the word embedding's gradient (fp32 main grad) is all-reduced
  // between the first and last pipeline ranks before the optimizer step.
  std::vector<Step> TiedGradientReductions(int p) {
    std::vector<Step> out;
    for (const auto& [name, tied] : tied_weights_) {
      if (std::find(tied.ranks.begin(), tied.ranks.end(), p) == tied.ranks.end()) continue;
      Step s;
      s.kind = TaskKind::kCollective;
      s.stream = StreamKind::kDpComm;
      s.phase = Phase::kStep;
      s.op = CollOp::kAllReduce;
      s.pp_peers = tied.ranks;
      s.bytes = tied.params * DTypeBytes(DType::kFp32);
      s.dtype = DType::kFp32;
      s.name = g_.Intern("tied " + name + " grad all_reduce pp");
      s.compute_class = g_.Intern("all_reduce");
      out.push_back(std::move(s));
    }
    return out;
  }

  void FindTiedWeights() {
    int pp = s_.PipelineRanks();
    if (pp < 2) return;
    std::map<std::string, std::set<int>> ranks;
    std::map<std::string, int64_t> params;
    for (size_t i = 0; i < ops_.size(); ++i)
      for (const auto& t : ops_[i].local.tensors) {
        if (t.role != TensorRole::kWeight) continue;
        ranks[t.name].insert(RankOfStage(s_.schedule, ops_[i].stage, pp));
        int64_t local = LocalBytes(Layout(static_cast<int>(i), t, LayoutUse::kRead), GlobalBytes(static_cast<int>(i), t),
                                   axis_sizes_) / DTypeBytes(t.dtype);
        params[t.name] = std::max(params[t.name], local);
      }
    for (const auto& [name, r] : ranks)
      if (r.size() > 1) tied_weights_[name] = {std::vector<int>(r.begin(), r.end()), params[name]};
  }

  // ---- static memory and the optimizer step ----
  void AccountWeights(StageState& st) {
    int rank = RankOfStage(s_.schedule, st.v, s_.PipelineRanks());
    RankState& rs = job_.ranks[rank];
    // Per rank, not per stage: a tied weight read by two stages of one GPU (the embedding of stage
    // 0 and the head of stage 2p-1 under a V placement) is stored once.
    std::set<std::string>& seen = weights_of_rank_[rank];
    for (int i : st.ops) {
      const OpInfo& o = ops_[i];
      if (o.fp8) rs.fp8_weight_bytes += Fp8WeightCopyBytes(o.local);
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
    std::vector<Step> tail = TiedGradientReductions(p);
    for (size_t k = 0; k < tail.size(); ++k) step.deps.push_back(static_cast<int32_t>(k));
    int32_t step_index = static_cast<int32_t>(tail.size());
    tail.push_back(step);
    for (auto& ag : rs.tail) {
      ag.deps = {step_index};
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
  int tp_overlaps_ = 0;  // GEMMs pipelined with their tp communication
  struct TiedWeight {
    std::vector<int> ranks;  // pipeline ranks holding a copy
    int64_t params = 0;      // local parameters of one copy
  };
  std::map<std::string, TiedWeight> tied_weights_;
  std::map<int, std::set<std::string>> weights_of_rank_;  // weights already counted per pipeline rank
};

}  // namespace

JobProgram BuildJobProgram(const ProgramInputs& in, ExecGraph& graph) { return Builder(in, graph).Build(); }

}  // namespace proteus
