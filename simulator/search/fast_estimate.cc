#include "simulator/search/fast_estimate.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "common/error.h"
#include "common/units.h"
#include "simulator/compile/schedule.h"
#include "simulator/compile/static_memory.h"
#include "simulator/cost/gpu_family.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/pipeline/gpu_pricing.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/parallel_for.h"
#include "simulator/search/pipeline_replay.h"
#include "simulator/search/search_space.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/strategy.h"

namespace proteus {
namespace {

// The model with only its first `k` transformer layers (each is the same block).
Model CutModel(const Model& model, int k) {
  Model cut = model;
  for (auto& c : cut.root.children)
    if (c.type == "layers" && static_cast<int>(c.children.size()) > k) c.children.resize(k);
  cut.num_layers = k;
  return cut;
}

// The first nodes of a one-group cluster, enough for `gpus` (the representative's tp x 2): what a
// representative prices (compute, TP inside a node) does not depend on the nodes beyond them, and
// building their links is most of a small run's time on a 5,120-GPU cluster. Several node groups
// are kept whole (the search prices a mixed cluster per GPU type on SubClusters instead).
Cluster RepresentativeCluster(const Cluster& cluster, int gpus) {
  if (cluster.groups.size() != 1 || gpus >= cluster.NumGpus()) return cluster;
  const NodeGroup& g = cluster.groups[0];
  const int per_node = std::max(1, g.gpus_per_node);
  Cluster c = MakeHomogeneousCluster(g.topology, (gpus + per_node - 1) / per_node, cluster.fabric.nic_bw / kGbps);
  if (c.groups.size() != 1 || c.groups[0].gpu_type != g.gpu_type) return cluster;
  c.name = cluster.name;
  c.groups[0].database = g.database;
  return c;
}

// The --db names whose layer prices GPUs of `type` on a mixed job (pipeline/gpu_pricing.h: its own
// GPU family, or no device named), so a representative on one type's nodes is priced as that
// type's ranks are in the full simulation.
std::vector<std::string> DatabasesOfFamily(const std::vector<std::string>& names, const std::vector<DbLayer>& layers,
                                           const std::string& type) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < names.size(); ++i)
    if (SameGpuFamily(layers[i].db.device.name, type)) kept.push_back(names[i]);
  return kept;
}

// Which part of the model a task's name belongs to: 0..K-1 a layer, -1 embedding, -2 output, -3 other.
int PartOf(std::string_view name) {
  if (name.rfind("layers.", 0) == 0) {
    size_t end = name.find_first_not_of("0123456789", 7);
    if (end == 7) return -3;
    return std::stoi(std::string(name.substr(7, end - 7)));
  }
  if (name.rfind("embed", 0) == 0) return -1;
  if (name.rfind("final_norm", 0) == 0 || name.rfind("lm_head", 0) == 0 || name.rfind("loss", 0) == 0) return -2;
  return -3;
}

// First starts on simulated GPU 0, per part, of forward and of backward (recompute included) tasks;
// bwd_weight compute per part; the end of the last backward compute; the step's span.
struct Timeline {
  std::map<int, double> first_f, first_b, weight;
  double last_b_end = 0, step_start = std::numeric_limits<double>::max(), step_end = 0;
};

Timeline ReadTimeline(const ExecGraph& g, const SimResult& r) {
  Timeline t;
  auto first = [](std::map<int, double>& m, int part, double s) {
    auto [it, fresh] = m.try_emplace(part, s);
    if (!fresh) it->second = std::min(it->second, s);
  };
  for (size_t i = 0; i < g.tasks.size(); ++i) {
    const Task& task = g.tasks[i];
    if (task.gpu != 0) continue;
    const double s = r.task_start_s[i], e = r.task_end_s[i];
    if (task.phase == Phase::kStep) {
      if (task.stream != StreamKind::kCompute) continue;
      t.step_start = std::min(t.step_start, s);
      t.step_end = std::max(t.step_end, e);
      continue;
    }
    const int part = PartOf(g.NameOf(task));
    if (part == -3) continue;
    const bool backward = task.phase != Phase::kFwd || task.recompute;
    first(backward ? t.first_b : t.first_f, part, s);
    if (backward && task.stream == StreamKind::kCompute) t.last_b_end = std::max(t.last_b_end, e);
    if (task.phase == Phase::kBwdWeight && task.kind == TaskKind::kCompute) t.weight[part] += task.duration_s;
  }
  return t;
}

double At(const std::map<int, double>& m, int part) {
  auto it = m.find(part);
  if (it == m.end()) throw InternalError("fast estimate: the representative run has no task of part " + std::to_string(part));
  return it->second;
}

// Parameters of the embedding, one layer and the output part (the rest of the model).
struct PartParams {
  int64_t embed = 0, layer = 0, head = 0;
};

PartParams ParamsOf(const Model& m) {
  PartParams p;
  const Module* layers = FindModule(m.root, "layers");
  int64_t all_layers = layers ? layers->Params() : 0;
  if (layers && !layers->children.empty()) p.layer = layers->children[0].Params();
  for (const auto& c : m.root.children)
    if (c.type == "embedding") p.embed += c.Params();
  p.head = std::max<int64_t>(0, m.Params() - all_layers - p.embed);
  return p;
}

}  // namespace

FastEstimator::FastEstimator(const RunSpec& base, const Model& model, const Cluster& cluster)
    : base_(base), model_(model), cluster_(cluster) {
  const Module* layers = FindModule(model.root, "layers");
  const int n = layers ? static_cast<int>(layers->children.size()) : 0;
  if (n < 2) throw UserError("search", "the fast estimate needs a model with at least two transformer layers");
  // It prices the first layers and scales them: a model mixing dense and MoE layers (DeepSeek's
  // first_k_dense_replace, Qwen's decoder_sparse_step) would be priced as its first kind only.
  for (const auto& layer : layers->children)
    if (model.num_experts > 0 && layer.Params() != layers->children[0].Params())
      throw UserError("search", "the fast estimate assumes identical layers; model " + model.name +
                                    " has layers of different sizes (dense and mixture-of-experts layers)");
  cut_layers_ = std::min(3, n);
  cut_ = CutModel(model, cut_layers_);
  std::vector<DbLayer> dbs = LoadDbLayers(base.databases);
  db_ = MergeDbLayers(dbs);
  collectives_ = MakeCollectiveModel(cluster_, db_.get());
  capacity_ = SmallestGpuMemory(cluster_);
  for (int g = 0; g < static_cast<int>(cluster_.groups.size()); ++g) {
    const std::string& type = cluster_.groups[g].gpu_type;
    if (std::find(types_.begin(), types_.end(), type) != types_.end()) continue;
    types_.push_back(type);
    type_group_.push_back(g);
    type_capacity_.push_back(LoadGpuSpec(type).memory_bytes);
    type_databases_.push_back(DatabasesOfFamily(base.databases, dbs, type));
  }
  gpu_type_.resize(cluster_.NumGpus());
  for (GpuId g = 0; g < cluster_.NumGpus(); ++g)
    gpu_type_[g] = static_cast<int>(std::find(types_.begin(), types_.end(), cluster_.GroupOf(g).gpu_type) - types_.begin());
  const PartParams pp = ParamsOf(model_);
  params_ = model_.Params();
  params_embed_ = pp.embed;
  params_layer_ = pp.layer;
  params_head_ = pp.head;
  layer_saved_bytes_ = SavedActivationBytes(layers->children[0]);
}

FastEstimator::~FastEstimator() = default;

FastEstimator::Key FastEstimator::KeyOf(const StrategyFlags& f) {
  return {f.tp, f.sp, f.mbs, f.recompute, f.zero};
}

// The representative: the cut model, tp and the candidate's per-layer settings, pp 1, dp 2, one
// micro-batch, 1F1B; simulated by the pipeline the search verifies with. On a mixed cluster it runs
// on nodes of GPU type `type` alone, priced by that type's database layers; nullopt when that
// type's first node group has too few GPUs for it.
std::optional<BlockProfile> FastEstimator::Price(const StrategyFlags& candidate, int type) const {
  StrategyFlags f = candidate;
  f.pp = 1;
  f.dp = 2;
  f.gbs = f.mbs * f.dp;
  f.schedule = "1f1b";
  f.pp_layers.clear();
  f.overlap_p2p.clear();
  RunSpec spec = base_;
  spec.flags = f;
  // The representative is a few layers, one micro-batch on tp x 2 GPUs, whatever the candidate:
  // --max-tasks bounds the search's full simulations, and this one is always far below the default.
  spec.max_tasks = 0;
  std::optional<Cluster> nodes;
  if (types_.size() == 1) {
    nodes = RepresentativeCluster(cluster_, f.tp * f.dp);
  } else {
    const NodeGroup& g = cluster_.groups[type_group_[type]];
    const int per_node = std::max(1, g.gpus_per_node), count = (f.tp * f.dp + per_node - 1) / per_node;
    if (count > g.count) return std::nullopt;
    nodes = SubCluster(cluster_, type_group_[type], count);
    spec.databases = type_databases_[type];
  }
  PreparedSimulation sim(spec, cut_, std::move(*nodes));
  sim.Run();
  const ExecGraph& g = sim.graph();
  const Timeline t = ReadTimeline(g, sim.result());
  const int k = cut_layers_;
  BlockProfile p;
  p.f_layer = (At(t.first_f, k - 1) - At(t.first_f, 0)) / (k - 1);
  p.b_layer = (At(t.first_b, 0) - At(t.first_b, k - 1)) / (k - 1);
  p.f_embed = At(t.first_f, 0) - At(t.first_f, -1);
  p.f_head = std::max(0.0, At(t.first_b, -2) - At(t.first_f, k - 1) - p.f_layer);
  p.b_head = std::max(0.0, At(t.first_b, k - 1) - At(t.first_b, -2));
  p.b_embed = std::max(0.0, t.last_b_end - At(t.first_b, 0) - p.b_layer);
  auto weight = [&](int part) { auto it = t.weight.find(part); return it == t.weight.end() ? 0.0 : it->second; };
  p.w_layer = weight(k / 2);
  p.w_embed = weight(-1);
  p.w_head = weight(-2);
  const PartParams pp = ParamsOf(cut_);
  const double local = static_cast<double>(k * pp.layer + pp.embed + pp.head) / f.tp;
  const double stepped = f.zero >= 1 ? local / f.dp : local;
  if (t.step_end > t.step_start) p.step_per_param = (t.step_end - t.step_start) / stepped;
  double grad = 0, gather = 0;
  for (const Task& task : g.tasks) {
    if (task.gpu != 0 || task.kind != TaskKind::kCollective || task.stream != StreamKind::kDpComm) continue;
    const Comm& c = g.comms[task.comm];
    if (c.op == CollOp::kAllGather) gather += static_cast<double>(c.bytes);
    else {
      grad += static_cast<double>(c.bytes);
      p.grad_op = c.op;
    }
  }
  p.grad_bytes_per_param = grad / local;
  p.gather_bytes_per_param = gather / local;
  return p;
}

void FastEstimator::Prepare(const std::vector<StrategyFlags>& candidates, int threads) {
  // (candidate, type) pairs to price: every GPU type of the cluster per fresh key.
  std::vector<std::pair<const StrategyFlags*, int>> fresh;
  for (const auto& c : candidates) {
    if (!prepared_.emplace(KeyOf(c), true).second) continue;
    for (int t = 0; t < static_cast<int>(types_.size()); ++t) fresh.emplace_back(&c, t);
  }
  std::vector<std::optional<BlockProfile>> priced(fresh.size());
  ParallelFor(static_cast<int64_t>(fresh.size()), threads,
              [&](int64_t i) { priced[i] = Price(*fresh[i].first, fresh[i].second); });
  for (size_t i = 0; i < fresh.size(); ++i)
    if (priced[i]) profiles_.emplace(std::make_pair(KeyOf(*fresh[i].first), fresh[i].second), *priced[i]);
}

double FastEstimator::PlanTime(CollOp op, const std::vector<GpuId>& group, int64_t bytes) const {
  auto key = std::make_tuple(static_cast<int>(op), group, bytes);
  {
    std::lock_guard<std::mutex> lock(plan_mutex_);
    auto it = plan_cache_.find(key);
    if (it != plan_cache_.end()) return it->second;
  }
  CollectiveRequest request;
  request.op = op;
  request.group = group;
  request.bytes = bytes;
  request.dtype = model_.dtype;
  const double time = collectives_->Plan(request).time_s;
  std::lock_guard<std::mutex> lock(plan_mutex_);
  plan_cache_.emplace(std::move(key), time);
  return time;
}

// Planned at the powers of two around `bytes` and interpolated linearly: a plan on a 5,120-GPU
// group costs more than the rest of an estimate, and between two sizes a factor of two apart the
// model's time is (latency + bytes / bandwidth) of one algorithm, or the switch between two.
double FastEstimator::CollectiveTime(CollOp op, std::vector<GpuId> group, int64_t bytes) const {
  if (bytes <= 0 || group.size() < 2) return 0;
  int64_t lo = 1;
  while (lo <= bytes / 2) lo *= 2;
  const double t_lo = PlanTime(op, group, lo);
  if (lo == bytes) return t_lo;
  const double t_hi = PlanTime(op, group, 2 * lo);
  return t_lo + (t_hi - t_lo) * static_cast<double>(bytes - lo) / static_cast<double>(lo);
}

namespace {

// Layers per virtual stage, as the shorthand splits them (--pp-layers, or the even split).
std::vector<int> StageLayers(const StrategyFlags& f, int layers, int stages) {
  return LayersPerStage(layers, stages, f.pp_layers.empty() ? std::vector<int>{} : ParseLayerList(f.pp_layers));
}

// A lower bound of one layer's activations kept per micro-batch on one GPU: its saved tensors over
// tp (sequence parallelism shards them all; without it some are replicated), or with full
// recomputation only the layer's input.
int64_t LayerActivationLowerBound(const Model& m, int64_t layer_saved_bytes, const StrategyFlags& f) {
  const int64_t one = f.recompute == "full" ? m.seq_len * m.hidden * DTypeBytes(m.dtype) : layer_saved_bytes;
  return one * f.mbs / f.tp;
}

}  // namespace

// After a rank's last block: the exposed gradient reduction (buckets overlap its last backward but
// the last bucket), the optimizer step over its `local` parameters, ZeRO's parameter all-gather.
double FastEstimator::Tail(const BlockProfile& prof, const StrategyFlags& f, const std::vector<GpuId>& group,
                           int64_t local, double last_backward_s) const {
  const int64_t bucket = f.grad_bucket_mb > 0 ? f.grad_bucket_mb * 1024 * 1024 : kDefaultGradBucketBytes;
  const int64_t grad = static_cast<int64_t>(prof.grad_bytes_per_param * static_cast<double>(local));
  const double t_grad = CollectiveTime(prof.grad_op, group, grad);
  const double t_bucket = CollectiveTime(prof.grad_op, group, std::min(grad, bucket));
  double tail = std::max(t_grad - last_backward_s, t_bucket);
  tail += prof.step_per_param * static_cast<double>(local) / (f.zero >= 1 ? f.dp : 1);
  if (!f.overlap_param_gather)
    tail += CollectiveTime(CollOp::kAllGather, group,
                           static_cast<int64_t>(prof.gather_bytes_per_param * static_cast<double>(local)));
  return tail;
}

// A candidate's pipeline as the estimate composes it: the schedule, layers per virtual stage, which
// rank holds each, and per rank the profile of its GPUs' type (model 4).
struct FastEstimator::Layout {
  Schedule schedule;
  int p = 1, dp = 1, stages = 1, m = 1;
  std::vector<int> layers;                   // per virtual stage
  std::vector<int> rank_of_stage;            // per virtual stage
  std::vector<int> type_of_rank;             // per pipeline rank: index into types_
  std::vector<const BlockProfile*> profile;  // per pipeline rank
  std::string unpriced;                      // why not, or empty
};

FastEstimator::Layout FastEstimator::LayoutOf(const StrategyFlags& f) const {
  if (!prepared_.count(KeyOf(f))) throw InternalError("fast estimate: candidate not prepared");
  Layout l;
  l.schedule = ParseScheduleFlag(f.schedule, "--schedules");
  if (l.schedule.chunks < 1) l.schedule.chunks = std::max(1, FixedChunks(l.schedule.kind));
  l.p = f.pp, l.dp = f.dp, l.stages = l.p * l.schedule.chunks;
  l.m = static_cast<int>(f.gbs / (static_cast<int64_t>(f.mbs) * l.dp));
  l.layers = StageLayers(f, static_cast<int>(model_.num_layers), l.stages);
  l.rank_of_stage.assign(l.stages, 0);
  for (int r = 0; r < l.p; ++r)
    for (int c = 0; c < l.schedule.chunks; ++c) l.rank_of_stage[StageOfChunk(l.schedule, r, c, l.p)] = r;
  const GpuId per_rank = static_cast<GpuId>(l.dp) * f.tp;
  l.type_of_rank.assign(l.p, 0);
  l.profile.assign(l.p, nullptr);
  for (int r = 0; r < l.p; ++r) {
    if (types_.size() > 1) {
      const GpuId first = r * per_rank;
      l.type_of_rank[r] = gpu_type_[first];
      for (GpuId g = first; g < first + per_rank; ++g)
        if (gpu_type_[g] != l.type_of_rank[r]) {
          l.unpriced = "pipeline stage " + std::to_string(r) + " has GPUs of two types (" +
                       types_[l.type_of_rank[r]] + ", " + types_[gpu_type_[g]] + ")";
          return l;
        }
    }
    // One map look-up per run of ranks on the same type (every rank on one type).
    if (r > 0 && l.type_of_rank[r] == l.type_of_rank[r - 1]) {
      l.profile[r] = l.profile[r - 1];
      continue;
    }
    auto it = profiles_.find({KeyOf(f), l.type_of_rank[r]});
    if (it == profiles_.end()) {
      l.unpriced = "the " + types_[l.type_of_rank[r]] + " nodes hold fewer than the 2 x tp GPUs of its block profile";
      return l;
    }
    l.profile[r] = &it->second;
  }
  return l;
}

FastEstimate FastEstimator::Estimate(const StrategyFlags& f) const {
  const Layout l = LayoutOf(f);
  FastEstimate out;
  if (!l.unpriced.empty()) {
    out.unpriced = l.unpriced;
    return out;
  }
  const int p = l.p, dp = l.dp, stages = l.stages;
  const std::vector<int>& layers = l.layers;
  const PartParams params{params_embed_, params_layer_, params_head_};
  std::vector<StageBlocks> blocks(stages);
  std::vector<int64_t> stage_params(stages);
  for (int s = 0; s < stages; ++s) {
    const BlockProfile& prof = *l.profile[l.rank_of_stage[s]];
    const bool first = s == 0, last = s == stages - 1;
    blocks[s].forward = layers[s] * prof.f_layer + (first ? prof.f_embed : 0) + (last ? prof.f_head : 0);
    blocks[s].backward = layers[s] * prof.b_layer + (first ? prof.b_embed : 0) + (last ? prof.b_head : 0);
    blocks[s].weight = layers[s] * prof.w_layer + (first ? prof.w_embed : 0) + (last ? prof.w_head : 0);
    stage_params[s] = (layers[s] * params.layer + (first ? params.embed : 0) + (last ? params.head : 0)) / f.tp;
  }
  // Rank r's GPUs: mesh [pp, dp, tp] (compile/mesh.h), rank 0 of its tp group.
  const GpuId stride_pp = static_cast<GpuId>(dp) * f.tp;
  double p2p = 0;
  if (p > 1) {
    const int64_t bytes = model_.seq_len * model_.hidden * DTypeBytes(model_.dtype) * f.mbs / (f.sp ? f.tp : 1);
    p2p = CollectiveTime(CollOp::kSendRecv, {0, stride_pp}, bytes);
  }
  const bool overlaps = f.overlap_p2p == "on" || (f.overlap_p2p.empty() && l.schedule.kind == ScheduleKind::kInterleaved);
  const ReplayResult replay = ReplayPipeline(l.schedule, p, l.m, blocks, p2p, overlaps);

  const int64_t act = LayerActivationLowerBound(model_, layer_saved_bytes_, f);
  // On one GPU type every pipeline rank's data-parallel group is the first one shifted by whole
  // nodes (tp x dp GPUs, a multiple of a node, or all ranks in one node), so the first one prices
  // them all and the plan cache hits across ranks and candidates. On a mixed cluster the ranks sit
  // on different node types: each is priced on its own group, and its memory bound against its
  // own GPUs (the mean-stage bound would hide a V100 stage's excess behind an A100 stage's room).
  const bool mixed = types_.size() > 1;
  std::vector<GpuId> group;
  for (int d = 0; d < dp; ++d) group.push_back(d * f.tp);
  int64_t activations = 0, stage_peak = 0;
  for (int r = 0; r < p; ++r) {
    int64_t local = 0;
    int rank_layers = 0;
    for (int c = 0; c < l.schedule.chunks; ++c) {
      const int s = StageOfChunk(l.schedule, r, c, p);
      local += stage_params[s];
      rank_layers = std::max(rank_layers, layers[s]);
    }
    std::vector<GpuId> own = group;
    if (mixed)
      for (GpuId& g : own) g += r * stride_pp;
    const double tail = Tail(*l.profile[r], f, own, local, replay.last_backward_s[r]);
    out.iteration_s = std::max(out.iteration_s, replay.rank_end_s[r] + tail);
    const int64_t rank_act = static_cast<int64_t>(replay.max_in_flight[r]) * rank_layers * act;
    activations = std::max(activations, rank_act);
    if (!mixed) continue;
    const int64_t peak = StaticMemoryOfLocalParams(local, model_.dtype, f) + rank_act;
    stage_peak = std::max(stage_peak, peak);
    out.oom = out.oom || peak > type_capacity_[l.type_of_rank[r]];
  }
  if (mixed) {
    out.peak_memory = stage_peak;
    return out;
  }
  out.peak_memory = StaticMemoryLowerBound(params_, model_.dtype, f) + activations;
  out.oom = out.peak_memory > capacity_;
  return out;
}

std::optional<std::vector<StageCost>> FastEstimator::StageCosts(const StrategyFlags& flags) const {
  StrategyFlags even = flags;
  even.pp_layers.clear();
  const Layout l = LayoutOf(even);
  if (!l.unpriced.empty() || l.schedule.chunks != 1) return std::nullopt;
  // The in-flight micro-batches of each rank depend on the schedule's order, not on the durations.
  std::vector<StageBlocks> unit(l.stages, StageBlocks{1, 2, 1});
  const ReplayResult replay = ReplayPipeline(l.schedule, l.p, l.m, unit, 0, true);
  const int64_t act = LayerActivationLowerBound(model_, layer_saved_bytes_, flags);
  const int n = static_cast<int>(model_.num_layers);
  std::vector<StageCost> out(l.stages);
  for (int s = 0; s < l.stages; ++s) {
    const BlockProfile& prof = *l.profile[s];
    const bool first = s == 0, last = s == l.stages - 1;
    out[s].layer_s = prof.f_layer + prof.b_layer;
    out[s].fixed_s = (first ? prof.f_embed + prof.b_embed : 0) + (last ? prof.f_head + prof.b_head : 0);
    const int64_t fixed_params = (first ? params_embed_ : 0) + (last ? params_head_ : 0);
    const int64_t capacity = types_.size() > 1 ? type_capacity_[l.type_of_rank[s]] : capacity_;
    // The bound grows with the layers: the largest count that fits, at most all of them.
    int fits = 0;
    while (fits < n) {
      const int64_t local = (fixed_params + (fits + 1) * params_layer_) / flags.tp;
      const int64_t peak = StaticMemoryOfLocalParams(local, model_.dtype, flags) +
                           static_cast<int64_t>(replay.max_in_flight[s]) * (fits + 1) * act;
      if (peak > capacity) break;
      ++fits;
    }
    out[s].max_layers = fits;
  }
  return out;
}

}  // namespace proteus
