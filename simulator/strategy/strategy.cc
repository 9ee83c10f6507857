#include "simulator/strategy/strategy.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/error.h"
#include "simulator/strategy/limits.h"

namespace proteus {
namespace {

constexpr std::array<std::pair<Recompute, std::string_view>, 3> kRecomputeNames = {{
    {Recompute::kNone, "none"}, {Recompute::kSelective, "selective"}, {Recompute::kFull, "full"}}};
constexpr std::array<std::pair<ScheduleKind, std::string_view>, 7> kScheduleNames = {{
    {ScheduleKind::kGPipe, "gpipe"}, {ScheduleKind::k1F1B, "1f1b"},
    {ScheduleKind::kInterleaved, "interleaved"}, {ScheduleKind::kZbH1, "zb-h1"},
    {ScheduleKind::kZbV, "zb-v"}, {ScheduleKind::kDualPipeV, "dualpipev"},
    {ScheduleKind::kDualPipe, "dualpipe"}}};

constexpr std::array<std::pair<GatherUnit, std::string_view>, 2> kGatherUnitNames = {{
    {GatherUnit::kOperator, "operator"}, {GatherUnit::kBlock, "block"}}};

// Mesh axes given as a JSON object lose their order (keys are sorted), so the object form is only
// accepted for the conventional names, ordered as Megatron orders ranks (tp fastest).
constexpr std::array<std::string_view, 5> kConventionalAxisOrder = {"pp", "dp", "cp", "ep", "tp"};

// Input limits: strategy/limits.h.
constexpr int64_t kMaxStage = kMaxMeshGpus * kMaxScheduleChunks;

// A positive integer member at most `max` (larger values would wrap when stored as int).
int64_t BoundedPositive(const JsonView& v, std::string_view key, int64_t max) {
  int64_t x = v.PositiveInt(key);
  if (x > max) v.FailField(key, "must be at most " + std::to_string(max) + ", got " + std::to_string(x));
  return x;
}

std::vector<MeshAxis> ParseMesh(const JsonView& v) {
  std::vector<MeshAxis> mesh;
  if (v.IsArray()) {
    for (size_t i = 0; i < v.Size(); ++i) {
      JsonView a = v.At(i);
      a.RejectUnknownKeys({"axis", "size"});
      mesh.push_back({a.Str("axis"), static_cast<int>(BoundedPositive(a, "size", kMaxMeshGpus))});
    }
  } else if (v.IsObject()) {
    for (const auto& [key, val] : v.raw().items()) {
      bool known = false;
      for (auto n : kConventionalAxisOrder) known |= n == key;
      if (!known)
        v.Fail("axis '" + key + "' has no conventional position; give the mesh as an ordered array "
               "[{\"axis\": \"pp\", \"size\": 2}, ...] (outermost first)");
    }
    for (auto n : kConventionalAxisOrder)
      if (v.Has(n)) mesh.push_back({std::string(n), static_cast<int>(BoundedPositive(v, n, kMaxMeshGpus))});
  } else {
    v.Fail("expected an array of {axis, size} (outermost first) or an object {pp, dp, tp}");
  }
  for (size_t i = 0; i < mesh.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (mesh[i].name == mesh[j].name) v.Fail("mesh axis '" + mesh[i].name + "' appears twice");
  int64_t gpus = 1;
  for (const auto& a : mesh) {
    gpus *= a.size;  // each factor <= 2^20 and the running product <= 2^20: no overflow
    if (gpus > kMaxMeshGpus)
      v.Fail("the mesh spans more than " + std::to_string(kMaxMeshGpus) + " GPUs (the product of its axis sizes)");
  }
  return mesh;
}

std::string ParseLayout(const JsonView& v, std::string_view key) {
  std::string text = v.Str(key);
  if (text == "replicated") return "";
  constexpr std::string_view kSharded = "sharded:";
  if (text.rfind(kSharded, 0) == 0 && text.size() > kSharded.size()) return text.substr(kSharded.size());
  v.FailField(key, "expected \"replicated\" or \"sharded:<mesh axis>\", got \"" + text + "\"");
}

NodeSettings ParseSettings(const JsonView& v, bool is_rule) {
  std::vector<std::string_view> allowed = {"partition", "layouts", "recompute", "stage", "offload"};
  if (is_rule) allowed.push_back("match");
  v.RejectUnknownKeys(allowed);
  NodeSettings s;
  if (auto p = v.Find("partition")) {
    if (!p->IsObject()) p->Fail("expected an object {op dim: mesh axis}");
    for (const auto& [dim, axis] : p->raw().items()) {
      if (axis.is_null()) s.partition[dim] = std::nullopt;
      else s.partition[dim] = p->Str(dim);
    }
  }
  if (auto l = v.Find("layouts")) {
    l->RejectUnknownKeys({"weights", "grads", "optimizer"});
    if (l->Has("weights")) s.weights = ParseLayout(*l, "weights");
    if (l->Has("grads")) s.grads = ParseLayout(*l, "grads");
    if (l->Has("optimizer")) s.optimizer = ParseLayout(*l, "optimizer");
  }
  if (v.Has("recompute")) {
    auto r = ParseRecompute(v.Str("recompute"));
    if (!r) v.FailField("recompute", "expected none, selective or full");
    s.recompute = *r;
  }
  if (v.Has("stage")) {
    int64_t st = v.Int("stage");
    if (st < 0 || st >= kMaxStage)
      v.FailField("stage", "must be within [0, " + std::to_string(kMaxStage) + "), got " + std::to_string(st));
    s.stage = static_cast<int>(st);
  }
  if (auto o = v.Find("offload")) {
    o->RejectUnknownKeys({"optimizer"});
    if (o->Has("optimizer")) s.offload_optimizer = o->Bool("optimizer");
  }
  return s;
}

Schedule ParseSchedule(const JsonView& v) {
  v.RejectUnknownKeys({"kind", "chunks"});
  Schedule s;
  auto kind = ParseScheduleKind(v.Str("kind"));
  if (!kind) v.FailField("kind", "expected gpipe, 1f1b, interleaved, zb-h1, zb-v, dualpipev or dualpipe");
  s.kind = *kind;
  int fixed = FixedChunks(s.kind);
  s.chunks = static_cast<int>(v.Has("chunks") ? BoundedPositive(v, "chunks", kMaxScheduleChunks) : std::max(fixed, 1));
  // The canonical form prints chunks for every kind, so a fixed count may be restated, not changed.
  if (fixed > 0 && s.chunks != fixed)
    v.FailField("chunks", "schedule " + std::string(ScheduleKindName(s.kind)) + " has " + std::to_string(fixed) +
                              " chunk(s) per GPU, not " + std::to_string(s.chunks) + " (only interleaved chooses)");
  return s;
}

Json SettingsToJson(const NodeSettings& s) {
  Json j = Json::object();
  if (!s.partition.empty()) {
    Json p = Json::object();
    for (const auto& [dim, axis] : s.partition) p[dim] = axis ? Json(*axis) : Json(nullptr);
    j["partition"] = p;
  }
  Json layouts = Json::object();
  if (s.weights) layouts["weights"] = LayoutText(*s.weights);
  if (s.grads) layouts["grads"] = LayoutText(*s.grads);
  if (s.optimizer) layouts["optimizer"] = LayoutText(*s.optimizer);
  if (!layouts.empty()) j["layouts"] = layouts;
  if (s.recompute) j["recompute"] = std::string(RecomputeName(*s.recompute));
  if (s.stage) j["stage"] = *s.stage;
  if (s.offload_optimizer) j["offload"] = {{"optimizer", *s.offload_optimizer}};
  return j;
}

// Prefetch depths past a few units buy nothing (the gathers already run ahead of compute) and hold
// that many units' parameters.
constexpr int64_t kMaxPrefetch = 64;
// The reader's mesh limit (2^20 GPUs): no group can be larger.
constexpr int64_t kMaxShardGroup = int64_t{1} << 20;

WeightGather ParseWeightGather(const JsonView& v) {
  v.RejectUnknownKeys({"unit", "prefetch", "reshard_after_forward", "shard_group"});
  WeightGather g;
  if (v.Has("unit")) {
    auto u = ParseGatherUnit(v.Str("unit"));
    if (!u) v.FailField("unit", "expected block (FSDP2: one unit per layer) or operator (DeepSpeed ZeRO-3)");
    g.unit = *u;
  }
  int64_t prefetch = v.IntOr("prefetch", g.prefetch);
  if (prefetch < 0 || prefetch > kMaxPrefetch)
    v.FailField("prefetch", "must be within [0, " + std::to_string(kMaxPrefetch) + "], got " + std::to_string(prefetch));
  g.prefetch = static_cast<int>(prefetch);
  g.reshard_after_forward = v.BoolOr("reshard_after_forward", g.reshard_after_forward);
  // Divisibility and 1 < n < axis size need the mesh: validate.cc checks them.
  if (v.Has("shard_group")) {
    int64_t n = v.PositiveInt("shard_group");
    if (n > kMaxShardGroup) v.FailField("shard_group", "must be at most " + std::to_string(kMaxShardGroup) + ", got " + std::to_string(n));
    g.shard_group = static_cast<int>(n);
  }
  return g;
}



}  // namespace

std::string_view RecomputeName(Recompute r) {
  for (auto& [k, n] : kRecomputeNames)
    if (k == r) return n;
  return "?";
}
std::optional<Recompute> ParseRecompute(std::string_view name) {
  for (auto& [k, n] : kRecomputeNames)
    if (n == name) return k;
  return std::nullopt;
}
std::string_view ScheduleKindName(ScheduleKind k) {
  for (auto& [kind, n] : kScheduleNames)
    if (kind == k) return n;
  return "?";
}
int FixedChunks(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::kInterleaved:
      return 0;
    case ScheduleKind::kZbV:
    case ScheduleKind::kDualPipeV:
      return 2;  // V placement: stage i and stage 2p-1-i
    default:
      return 1;
  }
}
std::optional<ScheduleKind> ParseScheduleKind(std::string_view name) {
  for (auto& [kind, n] : kScheduleNames)
    if (n == name) return kind;
  return std::nullopt;
}

std::string LayoutText(const std::string& shard_axis) {
  return shard_axis.empty() ? "replicated" : "sharded:" + shard_axis;
}

bool NodeSettings::Empty() const {
  return partition.empty() && !weights && !grads && !optimizer && !recompute && !stage &&
         !offload_optimizer;
}

int Strategy::AxisSize(std::string_view axis) const {
  for (const auto& a : mesh)
    if (a.name == axis) return a.size;
  return 1;
}
bool Strategy::HasAxis(std::string_view axis) const {
  for (const auto& a : mesh)
    if (a.name == axis) return true;
  return false;
}
int Strategy::MeshGpus() const {
  int64_t n = 1;
  for (const auto& a : mesh) n *= a.size;
  PROTEUS_CHECK(n < (int64_t{1} << 31), "mesh too large");
  return static_cast<int>(n);
}
bool Strategy::ShardsWeights() const {
  if (defaults.weights && !defaults.weights->empty()) return true;
  for (const auto& r : nodes)
    if (r.settings.weights && !r.settings.weights->empty()) return true;
  return false;
}
int64_t Strategy::NumMicrobatches() const {
  int64_t per_step = micro_batch * DataParallel();
  return per_step > 0 ? global_batch / per_step : 0;
}

std::string_view GatherUnitName(GatherUnit u) {
  for (auto& [unit, n] : kGatherUnitNames)
    if (unit == u) return n;
  return "?";
}
std::optional<GatherUnit> ParseGatherUnit(std::string_view name) {
  for (auto& [unit, n] : kGatherUnitNames)
    if (n == name) return unit;
  return std::nullopt;
}

namespace {

// "dp_method", "fusion_threshold_bytes", "fusion_cycle_ms", "ps_servers", "ps_colocated",
// "ps_partition_bytes" (dp_method.h); absent: the defaults.
DpReduction ParseDpReduction(const JsonView& root) {
  DpReduction r;
  if (root.Has("dp_method")) {
    std::string name = root.Str("dp_method");
    auto m = ParseDpMethod(name);
    if (!m) root.FailField("dp_method", "unknown method '" + name + "'; expected one of " + DpMethodList());
    r.method = *m;
  }
  r.fusion_threshold_bytes = root.IntOr("fusion_threshold_bytes", kDefaultFusionThresholdBytes);
  if (root.Has("fusion_cycle_ms")) r.fusion_cycle_s = root.Num("fusion_cycle_ms") / 1000;
  CheckDpReduction(r, root.WhereField("fusion_threshold_bytes"), root.WhereField("fusion_cycle_ms"));
  // BytePS' knobs: only with dp_method ps, so that a misplaced one is not silently ignored.
  for (const char* key : {"ps_servers", "ps_colocated", "ps_partition_bytes"})
    if (root.Has(key) && r.method != DpMethod::kPs)
      root.FailField(key, "is a knob of dp_method ps (the BytePS parameter server), but dp_method is " +
                              std::string(DpMethodName(r.method)));
  if (root.Has("ps_servers")) {
    int64_t n = root.Int("ps_servers");
    if (n < 1 || n > kMaxPsServers)
      root.FailField("ps_servers", "must be between 1 and " + std::to_string(kMaxPsServers) + " server hosts, got " +
                                       std::to_string(n));
    r.ps_servers = static_cast<int>(n);
  }
  r.ps_colocated = root.BoolOr("ps_colocated", false);
  r.ps_partition_bytes = root.PositiveIntOr("ps_partition_bytes", kDefaultPsPartitionBytes);
  return r;
}

// Written only where they differ from the defaults, so that files of other methods read as before.
void DpReductionToJson(const DpReduction& r, Json& j) {
  if (r == DpReduction{}) return;
  j["dp_method"] = std::string(DpMethodName(r.method));
  j["fusion_threshold_bytes"] = r.fusion_threshold_bytes;
  j["fusion_cycle_ms"] = r.fusion_cycle_s * 1000;
  if (r.method != DpMethod::kPs) return;
  if (r.ps_servers > 0) j["ps_servers"] = r.ps_servers;
  j["ps_colocated"] = r.ps_colocated;
  j["ps_partition_bytes"] = r.ps_partition_bytes;
}

}  // namespace

Strategy ParseStrategy(const Json& doc, const std::string& origin) {
  JsonView root(doc, origin);
  root.RequireFormat("proteus.strategy", 1);
  root.RejectUnknownKeys({"format", "mesh", "micro_batch", "global_batch", "schedule", "grad_bucket_bytes",
                          "overlap_grad_reduce", "dp_method", "fusion_threshold_bytes", "fusion_cycle_ms", "ps_servers", "ps_colocated", "ps_partition_bytes", "overlap_param_gather", "tp_comm_overlap", "overlap_p2p_comm",
                          "offload_optimizer", "offload_activations", "weight_gather", "precision", "memory", "defaults", "nodes", "comment"});
  Strategy s;
  s.origin = origin;
  s.mesh = ParseMesh(root.At("mesh"));
  // "ep" folds into dp (Megatron-Core): it groups dp ranks and adds no GPUs (Strategy::expert_parallel).
  for (auto it = s.mesh.begin(); it != s.mesh.end(); ++it) {
    if (it->name != "ep") continue;
    s.expert_parallel = it->size;
    s.mesh.erase(it);
    break;
  }
  s.micro_batch = root.Has("micro_batch") ? BoundedPositive(root, "micro_batch", kMaxBatch) : 1;
  s.global_batch = root.Has("global_batch") ? BoundedPositive(root, "global_batch", kMaxBatch)
                                            : s.micro_batch * s.DataParallel();
  if (auto sch = root.Find("schedule")) s.schedule = ParseSchedule(*sch);
  s.grad_bucket_bytes = root.PositiveIntOr("grad_bucket_bytes", kDefaultGradBucketBytes);
  s.overlap_grad_reduce = root.BoolOr("overlap_grad_reduce", true);
  s.dp_reduction = ParseDpReduction(root);
  s.overlap_param_gather = root.BoolOr("overlap_param_gather", false);
  s.tp_comm_overlap = root.BoolOr("tp_comm_overlap", false);
  if (root.Has("overlap_p2p_comm")) s.overlap_p2p_comm = root.Bool("overlap_p2p_comm");
  s.offload_optimizer = root.BoolOr("offload_optimizer", false);
  if (root.Has("offload_activations")) {
    // Layers, so far below an int; the bound keeps a huge value from wrapping.
    int64_t n = root.PositiveInt("offload_activations");
    if (n > (int64_t{1} << 20)) root.FailField("offload_activations", "more layers than any model has: " + std::to_string(n));
    s.offload_activations = static_cast<int>(n);
  }
  if (auto g = root.Find("weight_gather")) s.weight_gather = ParseWeightGather(*g);
  if (auto p = root.Find("precision")) {
    p->RejectUnknownKeys({"fp8", "fp8_scaling", "main_grads", "params"});
    s.fp8 = ParseFp8Precision(*p);
    ParsePrecisionSettings(*p, s.precision);
  }
  if (auto m = root.Find("memory")) ParseMemorySettings(*m, s.memory);
  if (auto d = root.Find("defaults")) s.defaults = ParseSettings(*d, false);
  if (auto nodes = root.Find("nodes")) {
    for (size_t i = 0; i < nodes->Size(); ++i) {
      JsonView n = nodes->At(i);
      s.nodes.push_back({n.Str("match"), ParseSettings(n, true)});
    }
  }
  return s;
}

Strategy LoadStrategy(const std::string& path) { return ParseStrategy(ReadJsonFile(path), path); }

Json StrategyToJson(const Strategy& s) {
  Json j;
  j["format"] = "proteus.strategy/1";
  Json mesh = Json::array();
  for (const auto& a : s.mesh) mesh.push_back({{"axis", a.name}, {"size", a.size}});
  if (s.expert_parallel > 1) mesh.push_back({{"axis", "ep"}, {"size", s.expert_parallel}});
  j["mesh"] = mesh;
  j["micro_batch"] = s.micro_batch;
  j["global_batch"] = s.global_batch;
  j["schedule"] = {{"kind", std::string(ScheduleKindName(s.schedule.kind))}, {"chunks", s.schedule.chunks}};
  j["grad_bucket_bytes"] = s.grad_bucket_bytes;
  j["overlap_grad_reduce"] = s.overlap_grad_reduce;
  DpReductionToJson(s.dp_reduction, j);
  Json precision = PrecisionSettingsToJson(s.precision);
  Fp8RecipeToJson(s.fp8, precision);
  j["precision"] = precision;
  j["memory"] = MemorySettingsToJson(s.memory);
  j["defaults"] = SettingsToJson(s.defaults);
  Json nodes = Json::array();
  for (const auto& r : s.nodes) {
    Json n = SettingsToJson(r.settings);
    n["match"] = r.match;
    nodes.push_back(n);
  }
  j["nodes"] = nodes;
  j["overlap_param_gather"] = s.overlap_param_gather;
  j["tp_comm_overlap"] = s.tp_comm_overlap;
  if (s.overlap_p2p_comm) j["overlap_p2p_comm"] = *s.overlap_p2p_comm;
  if (s.offload_optimizer) j["offload_optimizer"] = true;
  if (s.offload_activations > 0) j["offload_activations"] = s.offload_activations;
  if (s.ShardsWeights())
    j["weight_gather"] = {{"unit", std::string(GatherUnitName(s.weight_gather.unit))},
                          {"prefetch", s.weight_gather.prefetch},
                          {"reshard_after_forward", s.weight_gather.reshard_after_forward}};
  if (s.ShardsWeights() && s.weight_gather.shard_group > 0) j["weight_gather"]["shard_group"] = s.weight_gather.shard_group;
  return j;
}

}  // namespace proteus
