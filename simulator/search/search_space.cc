#include "simulator/search/search_space.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "simulator/compile/static_memory.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/strategy/memory_settings.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/strategy.h"

namespace proteus {
namespace {

std::vector<int> PowersOfTwoUpTo(int64_t limit) {
  std::vector<int> v;
  for (int64_t x = 1; x <= limit; x *= 2) v.push_back(static_cast<int>(x));
  return v;
}

// The given values without repeats (first occurrence order), or the fallback when none are given:
// a value listed twice would otherwise be searched, and ranked, twice.
template <typename T>
std::vector<T> Or(const std::vector<T>& given, std::vector<T> fallback) {
  if (given.empty()) return fallback;
  std::vector<T> unique;
  for (const T& v : given)
    if (std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  return unique;
}

void CheckPositive(const std::vector<int>& values, const std::string& flag) {
  for (int v : values)
    if (v <= 0) throw UserError(flag, "values must be positive, got " + std::to_string(v));
}

// A schedule of the space, as --schedule parses it. One chunk per GPU is plain 1F1B, listed as such.
Schedule ParseSearchSchedule(const std::string& text) {
  Schedule s = ParseScheduleFlag(text, "--schedules");
  if (s.kind == ScheduleKind::kInterleaved && s.chunks < 2)
    throw UserError("--schedules", "interleaved:V needs V >= 2 chunks per GPU, got \"" + text + "\"");
  return s;
}

int GpusPerNode(const Cluster& cluster) {
  int n = 0;
  for (const auto& g : cluster.groups) n = n == 0 ? g.gpus_per_node : std::min(n, g.gpus_per_node);
  return std::max(1, n);
}


// The memory a candidate's static bound is checked against: on one GPU type the GPU's; on a mixed
// cluster the mean over pipeline ranks of each rank's smallest GPU (rank r owns GPUs
// [r dp tp, (r+1) dp tp), mesh [pp, dp, tp]). Every stage must fit its own GPUs, so the stages'
// static bytes, summed, fit their capacities summed: the mean stage (the bound) fits the mean
// capacity. Checking the smallest GPU instead would prune a split that puts fewer layers on it.
int64_t StageMeanCapacity(const Cluster& cluster, const std::vector<int64_t>& group_memory, int pp) {
  const int64_t per_rank = cluster.NumGpus() / pp;
  int64_t sum = 0;
  for (int r = 0; r < pp; ++r) {
    int64_t smallest = 0;
    for (int64_t g = r * per_rank; g < (r + 1) * per_rank; ++g) {
      const int64_t m = group_memory[cluster.gpu_group[g]];
      smallest = smallest == 0 ? m : std::min(smallest, m);
    }
    sum += smallest;
  }
  return sum / pp;
}

}  // namespace

int64_t SmallestGpuMemory(const Cluster& cluster) {
  int64_t m = 0;
  for (const auto& g : cluster.groups) {
    int64_t bytes = LoadGpuSpec(g.gpu_type).memory_bytes;
    m = m == 0 ? bytes : std::min(m, bytes);
  }
  return m;
}

int64_t StaticMemoryLowerBound(const Model& model, const StrategyFlags& f) {
  return StaticMemoryLowerBound(model.Params(), model.dtype, f);
}

int64_t StaticMemoryLowerBound(int64_t params, DType dtype, const StrategyFlags& f) {
  return StaticMemoryOfLocalParams(params / (static_cast<int64_t>(f.tp) * f.pp), dtype, f);
}

int64_t StaticMemoryOfLocalParams(int64_t params_per_gpu, DType dtype, const StrategyFlags& f) {
  PrecisionSettings precision;
  if (!f.main_grads.empty()) precision.main_grads = ParseMainGrads(f.main_grads, "--main-grads");
  if (!f.params.empty()) precision.params = ParseParamStorage(f.params, "--params");
  const int dp = std::max(1, f.dp);
  ParamShards shards;
  const bool sharded_weights = f.fsdp || f.zero >= 3;
  if (f.zero >= 1 || f.fsdp) shards.optimizer = dp;
  if (f.zero >= 2 || f.fsdp) shards.grads = dp;
  if (sharded_weights) shards.weights = dp;
  ParamStateBytes b = ParamStateOf(params_per_gpu, dtype, precision, shards);
  const int64_t optimizer = f.offload_optimizer ? 0 : b.optimizer;
  const int64_t reserve = f.reserve_gib ? CheckedReserveBytes(*f.reserve_gib, "--memory-reserve-gib") : kDefaultReserveBytes;
  return b.weights + b.grads + optimizer + reserve;
}

CandidateSet EnumerateCandidates(const Model& model, const Cluster& cluster, const SearchSpace& space) {
  if (space.global_batch <= 0) throw UserError("--gbs", "a search needs the global batch size (--gbs N)");
  const int gpus = cluster.NumGpus();
  const int max_tp = space.max_tp > 0 ? space.max_tp : GpusPerNode(cluster);
  const int64_t layers = std::max<int64_t>(1, model.num_layers);
  const auto tps = Or(space.tp, PowersOfTwoUpTo(max_tp));
  const auto pps = Or(space.pp, PowersOfTwoUpTo(layers));
  const auto mbss = Or(space.mbs, {1, 2, 4, 8});
  const auto recomputes = Or(space.recompute, {"none", "selective", "full"});
  const auto zeros = Or(space.zero, {0, 1});
  const auto schedules = Or(space.schedules, {"1f1b"});
  CheckPositive(tps, "--tp");
  CheckPositive(pps, "--pp");
  CheckPositive(mbss, "--mbs");
  for (const auto& r : recomputes)
    if (!ParseRecompute(r)) throw UserError("--recompute", "unknown recomputation \"" + r + "\" (none, selective, full)");
  for (int z : zeros)
    if (z < 0 || z > 3) throw UserError("--zero", "ZeRO stages are 0..3, got " + std::to_string(z));
  for (const auto& s : schedules) ParseSearchSchedule(s);
  const int64_t capacity = SmallestGpuMemory(cluster);
  std::vector<int64_t> group_memory;
  bool mixed = false;
  for (const auto& g : cluster.groups) {
    group_memory.push_back(LoadGpuSpec(g.gpu_type).memory_bytes);
    mixed = mixed || g.gpu_type != cluster.groups[0].gpu_type;
  }

  CandidateSet out;
  auto prune = [&out](const std::string& why) { ++out.pruned[why]; };
  for (int tp : tps)
    for (int pp : pps)
      for (int mbs : mbss)
        for (const auto& recompute : recomputes)
          for (int zero : zeros)
            for (const auto& schedule : schedules) {
              ++out.considered;
              if (tp > max_tp) { prune("tp above --max-tp " + std::to_string(max_tp)); continue; }
              if (gpus % (tp * pp) != 0) { prune("tp x pp does not divide the cluster's GPUs"); continue; }
              const int dp = gpus / (tp * pp);
              if (model.num_heads > 0 && model.num_heads % tp != 0) { prune("tp does not divide the attention heads"); continue; }
              if (pp > layers) { prune("more stages than layers"); continue; }
              if (space.global_batch % (static_cast<int64_t>(mbs) * dp) != 0) { prune("gbs not divisible by mbs x dp"); continue; }
              const int64_t m = space.global_batch / (static_cast<int64_t>(mbs) * dp);
              const Schedule parsed = ParseSearchSchedule(schedule);
              if (parsed.kind == ScheduleKind::kInterleaved &&
                  (pp < 2 || layers % (static_cast<int64_t>(pp) * parsed.chunks) != 0 || m % pp != 0)) {
                prune("interleaved needs pp >= 2, layers divisible by pp x V and micro-batches by pp");
                continue;
              }
              StrategyFlags f = space.base;
              f.tp = tp, f.pp = pp, f.dp = dp, f.mbs = mbs;
              f.gbs = static_cast<int>(space.global_batch);
              f.recompute = recompute;
              f.zero = zero;
              f.schedule = schedule;
              f.sp = space.sp && tp > 1;
              if (!f.sp) f.tp_comm_overlap = false;  // needs sp
              const int64_t room = mixed ? StageMeanCapacity(cluster, group_memory, pp) : capacity;
              if (StaticMemoryLowerBound(model, f) > room) { prune("static memory above the GPU's"); continue; }
              out.candidates.push_back(std::move(f));
            }
  return out;
}

std::string FlagsCommandLine(const StrategyFlags& f) {
  std::ostringstream os;
  os << "--tp " << f.tp << " --pp " << f.pp << " --dp " << f.dp << " --mbs " << f.mbs << " --gbs " << f.gbs;
  if (f.schedule != "1f1b") os << " --schedule " << f.schedule;
  if (f.recompute != "none") os << " --recompute " << f.recompute;
  if (f.zero > 0) os << " --zero " << f.zero;
  if (f.fsdp) os << " --fsdp";
  if (f.hsdp > 0) os << " --hsdp " << f.hsdp;
  if (f.fsdp_prefetch >= 0) os << " --fsdp-prefetch " << f.fsdp_prefetch;
  if (!f.reshard_after_forward) os << " --no-reshard-after-forward";
  if (f.sp) os << " --sp";
  if (f.tp_comm_overlap) os << " --tp-comm-overlap";
  if (f.overlap_param_gather) os << " --overlap-param-gather";
  if (!f.overlap_p2p.empty()) os << " --overlap-p2p " << f.overlap_p2p;
  if (f.offload_optimizer) os << " --offload-optimizer";
  if (f.offload_activations > 0) os << " --offload-activations " << f.offload_activations;
  if (!f.pp_layers.empty()) os << " --pp-layers " << f.pp_layers;
  if (f.grad_bucket_mb > 0) os << " --grad-bucket-mb " << f.grad_bucket_mb;
  if (!f.fp8.empty() && f.fp8 != "none") os << " --fp8 " << f.fp8;
  if (!f.fp8_scaling.empty()) os << " --fp8-scaling " << f.fp8_scaling;
  if (!f.main_grads.empty()) os << " --main-grads " << f.main_grads;
  if (!f.params.empty()) os << " --params " << f.params;
  if (f.reserve_gib) os << " --memory-reserve-gib " << *f.reserve_gib;
  if (f.fragmentation) os << " --fragmentation " << *f.fragmentation;
  return os.str();
}

}  // namespace proteus
