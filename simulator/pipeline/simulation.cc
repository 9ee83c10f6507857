#include "simulator/pipeline/simulation.h"

#include <cstdio>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/costdb.h"
#include "common/data_dir.h"
#include "common/error.h"
#include "common/suggest.h"
#include "common/units.h"
#include "simulator/compile/compile.h"
#include "simulator/compile/fp8_gemm.h"
#include "simulator/compile/host_offload.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/op_cost.h"
#include "simulator/cost/compute_cost.h"
#include "simulator/cost/cost_params.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/cost/interference.h"
#include "simulator/engine/engine.h"
#include "simulator/model/model_file.h"
#include "simulator/model/zoo.h"
#include "simulator/pipeline/fit_advice.h"
#include "simulator/pipeline/gpu_pricing.h"
#include "simulator/report/build_report.h"
#include "simulator/strategy/explain.h"
#include "simulator/strategy/describe.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/validate.h"
#include "topo/bandwidth_scale.h"
#include "topo/calibrated_collective.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

// Changes the compute dtype of every op that used the model's dtype (fp32 statistics stay fp32).
void ConvertDtype(Module& m, DType from, DType to) {
  for (auto& op : m.ops) {
    if (op.dtype == from) op.dtype = to;
    for (auto& t : op.tensors)
      if (t.dtype == from) t.dtype = to;
  }
  for (auto& c : m.children) ConvertDtype(c, from, to);
}

}  // namespace

std::vector<int> ParseLayerList(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      int v = std::stoi(item, &used);
      if (used != item.size() || v <= 0) throw std::invalid_argument("");
      out.push_back(v);
    } catch (const std::exception&) {
      throw UserError("--pp-layers", "expected positive layer counts separated by commas, got \"" + text + "\"");
    }
  }
  return out;
}

Model LoadModelFor(const RunSpec& spec) {
  Model model = spec.seq_len > 0
                    ? (spec.model_doc.is_object()
                           ? ModelDocumentWithSeqLen(spec.model_doc, spec.model_origin, spec.seq_len, "--seq-len")
                           : LoadModelWithSeqLen(spec.model, spec.seq_len, "--seq-len"))
                : spec.model_doc.is_object() ? ModelFromDocument(spec.model_doc, spec.model_origin)
                                             : LoadModel(spec.model);
  if (!spec.dtype.empty()) {
    auto dtype = ParseDType(spec.dtype);
    // fp8_e4m3 is whole-model fp8 (every tensor one byte), not Transformer Engine's (--fp8).
    if (!dtype || (*dtype != DType::kBf16 && *dtype != DType::kFp16 && *dtype != DType::kFp32 &&
                   *dtype != DType::kFp8E4M3))
      throw UserError("--dtype", "expected bf16, fp16, fp32 or fp8_e4m3 (whole-model fp8), got \"" + spec.dtype + "\"");
    ConvertDtype(model.root, model.dtype, *dtype);
    model.dtype = *dtype;
  }
  return model;
}

namespace {

// "<family>-<N>" without a file of that name: N nodes like the shipped "<family>-<M>" clusters
// (same node topology and fabric), so any cluster size of a shipped family can be named.
std::optional<Cluster> ScaledShippedCluster(const std::string& name) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size()) return std::nullopt;
  std::string family = name.substr(0, dash), count = name.substr(dash + 1);
  if (count.find_first_not_of("0123456789") != std::string::npos || count.size() > 6) return std::nullopt;
  int nodes = std::stoi(count);
  if (nodes <= 0) return std::nullopt;
  for (const char* seed : {"1", "2", "4", "8", "16"}) {
    auto path = ResolveDataFile("clusters", family + "-" + seed, ".json");
    if (!path) continue;
    Cluster like = LoadCluster(*path);
    if (like.groups.size() != 1) return std::nullopt;
    Cluster c = MakeHomogeneousCluster(like.groups[0].topology, nodes, like.fabric.nic_bw / kGbps);
    c.name = name;
    return c;
  }
  return std::nullopt;
}

}  // namespace

Cluster LoadClusterFor(const RunSpec& spec) {
  if (auto path = ResolveDataFile("clusters", spec.cluster, ".json")) return LoadCluster(*path);
  if (auto scaled = ScaledShippedCluster(spec.cluster)) return *scaled;
  if (LooksLikePath(spec.cluster)) throw UserError("--cluster", "file not found: " + spec.cluster);
  throw UserError("--cluster", "no cluster file or shipped cluster named \"" + spec.cluster + "\"; " +
                                   DidYouMean(spec.cluster, DataNames("clusters", ".json")) +
                                   "(shipped: " + ListDataNames("clusters", ".json") +
                                   "; any node count of a shipped family also works, e.g. dgx-h100-64)");
}

namespace {

ShorthandOptions ToShorthand(const StrategyFlags& f, int cluster_gpus) {
  ShorthandOptions o;
  o.tp = f.tp;
  o.pp = f.pp;
  o.cp = f.cp;
  int64_t model_parallel = int64_t{f.tp} * f.pp;  // flags may be huge: no int overflow here
  if (model_parallel > cluster_gpus)
    throw UserError("--tp/--pp", "tp x pp = " + std::to_string(model_parallel) + " exceeds the cluster's " +
                                     std::to_string(cluster_gpus) + " GPUs");
  model_parallel *= f.cp;  // cp ranks hold the same weights as dp ranks but split one sample
  if (f.cp > 1 && model_parallel > cluster_gpus)
    throw UserError("--cp", "tp x pp x cp = " + std::to_string(model_parallel) + " exceeds the cluster's " +
                                std::to_string(cluster_gpus) + " GPUs");
  o.dp = f.dp > 0 ? f.dp : static_cast<int>(cluster_gpus / model_parallel);
  o.ep = f.ep;
  o.micro_batch = f.mbs;
  o.global_batch = f.gbs;
  o.schedule = f.schedule;
  o.zero = f.zero;
  o.fsdp = f.fsdp;
  if (f.fsdp_prefetch >= 0) o.weight_gather.prefetch = f.fsdp_prefetch;
  o.weight_gather.reshard_after_forward = f.reshard_after_forward;
  o.weight_gather.shard_group = f.hsdp;
  o.overlap_grad_reduce = f.overlap_grad_reduce;
  o.overlap_param_gather = f.overlap_param_gather;
  o.tp_comm_overlap = f.tp_comm_overlap;
  o.offload_optimizer = f.offload_optimizer;
  o.offload_activations = f.offload_activations;
  if (f.overlap_p2p == "on") o.overlap_p2p_comm = true;
  else if (f.overlap_p2p == "off") o.overlap_p2p_comm = false;
  else if (!f.overlap_p2p.empty()) throw UserError("--overlap-p2p", "expected on or off, got '" + f.overlap_p2p + "'");
  o.recompute = f.recompute;
  o.sequence_parallel = f.sp;
  if (!f.pp_layers.empty()) o.pp_layers = ParseLayerList(f.pp_layers);
  if (f.grad_bucket_mb > kMaxGradBucketMb)
    throw UserError("--grad-bucket-mb", "at most " + std::to_string(kMaxGradBucketMb) + " MiB (1 TiB), got " +
                                            std::to_string(f.grad_bucket_mb));
  if (f.grad_bucket_mb > 0) o.grad_bucket_bytes = f.grad_bucket_mb * 1024 * 1024;
  o.dp_reduction = ApplyDpReductionFlags(f, DpReduction{});
  o.fp8 = f.fp8;
  o.fp8_scaling = f.fp8_scaling;
  return o;
}

// The memory-accounting flags, over the shorthand's defaults or a strategy file's fields.
void ApplyMemoryFlags(const StrategyFlags& f, PrecisionSettings& p, MemorySettings& m) {
  if (!f.main_grads.empty()) p.main_grads = ParseMainGrads(f.main_grads, "--main-grads");
  if (!f.params.empty()) p.params = ParseParamStorage(f.params, "--params");
  if (f.reserve_gib) m.reserve_bytes = CheckedReserveBytes(*f.reserve_gib, "--memory-reserve-gib");
  if (f.fragmentation) m.fragmentation = CheckedFragmentation(*f.fragmentation, "--fragmentation");
}

// The run's strategy from its file or flags, validated against the model and cluster; `resolved`,
// when given, receives the validation's resolution of it over the model (for Compile).
Strategy StrategyFor(const RunSpec& spec, const Model& model, const Cluster& cluster,
                     ResolvedModel* resolved = nullptr) {
  // A strategy file holds its own precision; a flag beside it would be silently dropped.
  if (!spec.strategy_file.empty() && (!spec.flags.fp8.empty() || !spec.flags.fp8_scaling.empty()))
    throw UserError(spec.flags.fp8.empty() ? "--fp8-scaling" : "--fp8",
                    "given with --strategy " + spec.strategy_file + "; set \"precision\": {\"fp8\": ...} in the strategy file");
  if (!spec.strategy_file.empty() && spec.flags.ep != 1)
    throw UserError("--ep", "given with --strategy " + spec.strategy_file + "; add \"ep\": " +
                                std::to_string(spec.flags.ep) + " to the strategy file's mesh");
  if (!spec.strategy_file.empty() && spec.flags.hsdp != 0)
    throw UserError("--hsdp", "given with --strategy " + spec.strategy_file +
                                  "; set \"weight_gather\": {\"shard_group\": " + std::to_string(spec.flags.hsdp) +
                                  "} in the strategy file");
  if (!spec.strategy_file.empty() && spec.flags.cp != 1)
    throw UserError("--cp", "given with --strategy " + spec.strategy_file + "; give the file's mesh a cp axis");
  Strategy strategy = spec.strategy_file.empty() ? ExpandShorthand(model, ToShorthand(spec.flags, cluster.NumGpus()))
                                                 : LoadStrategy(spec.strategy_file);
  ApplyMemoryFlags(spec.flags, strategy.precision, strategy.memory);
  // Over the file's dp_method / fusion keys, as the memory flags over its fields.
  if (!spec.strategy_file.empty()) strategy.dp_reduction = ApplyDpReductionFlags(spec.flags, strategy.dp_reduction);
  if (spec.flags.offload_optimizer) strategy.offload_optimizer = true;  // as the file's "offload_optimizer": true
  if (spec.flags.offload_activations != 0) strategy.offload_activations = spec.flags.offload_activations;  // the file's key
  ResolvedModel r = ValidateStrategy(model, strategy, cluster);
  if (resolved) *resolved = std::move(r);
  return strategy;
}

// "A100-SXM4-80GB, fitted on 13 runs and 7 kernel measurements, cross-validated mean |error| 4.3%"
// from the provenance (a kernels-only fit says it has no end-to-end runs).
std::string DescribeCalibration(const Calibration& c) {
  const Json& p = c.provenance;
  auto count = [&](const char* key) { return p.contains(key) && p[key].is_array() ? p[key].size() : size_t{0}; };
  size_t runs = count("runs"), kernels = count("kernels");
  std::string text = c.gpu + ", fitted on ";
  text += runs > 0 ? std::to_string(runs) + " runs" : "no end-to-end runs";
  if (kernels > 0) text += " and " + std::to_string(kernels) + " kernel measurements";
  if (runs > 0 && p.contains("cv_mean_abs_error") && p["cv_mean_abs_error"].is_number()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", cross-validated mean |error| %.1f%%", 100 * p["cv_mean_abs_error"].get<double>());
    text += buf;
  }
  return text;
}

}  // namespace

struct PreparedSimulation::State {
  Model model;
  Cluster cluster;
  Strategy strategy;
  std::shared_ptr<const CostDb> db;       // every layer (collective curves, interference)
  std::shared_ptr<const CostDb> priced;   // db with the calibration used by the last Run
  JobGpuTypes types;                      // per GPU type of the job: spec and the layers pricing it
  std::vector<int> type_of_sim;           // per simulated GPU: index into types.types
  std::string gpu_type;                   // types.Label()
  // Per GPU type, the cost model of the last Run (the calibrations it applied point into it).
  std::vector<std::unique_ptr<ComputeCostModel>> compute;
  ExecGraph graph;
  std::vector<std::shared_ptr<const CollectivePlan>> base_plans;  // per comm, uncorrected (kept once a correction is applied)
  bool plans_corrected = false;           // graph.comms hold corrected plans
  std::vector<std::optional<OpKey>> key_of_name;  // per name index: the op key it spells, if any
  ReportContext context;                  // the run's facts for the report (fixed once compiled)
  SimResult result;
  Report report;
  const Calibration* calibration = nullptr;
  std::vector<OpKey> unmeasured;
};

namespace {

// The report's facts that depend on the GPU types: the label, each type's GPUs and peak (MFU's
// denominator), each simulated GPU's type.
void DescribeGpuTypes(const JobGpuTypes& types, const std::vector<int>& type_of_sim, DType dtype, ReportContext& c) {
  c.gpu_type = types.Label();
  for (const auto& t : types.types) c.gpu_types.push_back({t.type, t.gpus, t.gpu.PeakFlops(dtype)});
  for (int type : type_of_sim) c.sim_gpu_types.push_back(types.types[type].type);
}

}  // namespace

PreparedSimulation::PreparedSimulation(const RunSpec& spec)
    : PreparedSimulation(spec, LoadModelFor(spec), LoadClusterFor(spec)) {}

PreparedSimulation::PreparedSimulation(const RunSpec& spec, Model model, Cluster cluster)
    : s_(std::make_unique<State>()) {
  State& st = *s_;
  st.model = std::move(model);
  st.cluster = std::move(cluster);
  if (spec.bandwidth_scale != 1.0) {
    // A what-if factor; far outside these bounds link bandwidths overflow to infinity or vanish.
    constexpr double kMinScale = 1e-3, kMaxScale = 1e3;
    if (!(spec.bandwidth_scale >= kMinScale && spec.bandwidth_scale <= kMaxScale)) {
      char got[32];
      std::snprintf(got, sizeof got, "%g", spec.bandwidth_scale);
      throw UserError("--bandwidth-scale", std::string("must be a factor from 0.001 to 1000, got ") + got);
    }
    st.cluster = ScaleBandwidth(st.cluster, spec.bandwidth_scale);
  }
  ResolvedModel resolved;
  st.strategy = StrategyFor(spec, st.model, st.cluster, &resolved);
  std::vector<DbLayer> layers = LoadDbLayers(spec.databases);
  st.types = ResolveGpuTypes(st.cluster, DeviceMesh(st.strategy.mesh).NumRanks(), layers);
  st.db = st.types.mixed() ? MergeDbLayers(layers) : st.types.types[0].db;
  st.gpu_type = st.types.Label();
  const GpuTypePricing& first = st.types.types[0];
  for (const auto& group : st.cluster.groups)
    CheckFp8Supported(st.strategy.fp8, st.model, group.gpu_type == first.type ? first.gpu : LoadGpuSpec(group.gpu_type),
                      Fp8SettingName(st.strategy));

  // Durations set while compiling are provisional (nothing in compile decides on them): Run()
  // prices every task again, as the GPU it runs on, with the calibration it is given.
  ComputeCostModel compute(first.gpu, first.db);
  auto collectives = MakeCollectiveModel(st.cluster, st.db.get());
  DbOpCoster coster(compute);
  CompileInputs inputs;
  inputs.model = &st.model;
  inputs.strategy = &st.strategy;
  inputs.cluster = &st.cluster;
  inputs.collectives = collectives.get();
  inputs.coster = &coster;
  inputs.resolved = &resolved;
  CompileOptions options;
  options.symmetry = spec.symmetry;
  options.orbit_mirrors = spec.orbit_mirrors;
  options.max_tasks = spec.max_tasks;
  CompileResult compiled = Compile(inputs, options);
  st.graph = std::move(compiled.graph);
  for (const auto& g : st.graph.gpus) st.type_of_sim.push_back(st.types.type_of_rank[g.global_id]);
  ReportContext& c = st.context;
  c.model = st.model.name;
  c.cluster = st.cluster.name.empty() ? spec.cluster : st.cluster.name;
  c.strategy = DescribeStrategy(st.strategy);
  DescribeGpuTypes(st.types, st.type_of_sim, st.model.dtype, c);
  c.dtype = std::string(DTypeName(st.model.dtype));
  c.precision = PrecisionLabel(st.model.dtype, st.strategy.fp8);
  c.params = st.model.Params();
  c.global_batch = st.strategy.global_batch;
  c.micro_batches = st.strategy.NumMicrobatches();
  c.seq_len = st.model.seq_len;
  c.image_size = st.model.image_size;
  c.model_flops = compiled.summary.model_flops;
  if (!compiled.summary.symmetry_note.empty()) c.notes.push_back(compiled.summary.symmetry_note);
  st.key_of_name.resize(st.graph.names.size());
  for (const auto& t : st.graph.tasks) {
    if (t.cost_key < 0 || st.key_of_name[t.cost_key]) continue;
    st.key_of_name[t.cost_key] = ParseOpKey(st.graph.names[t.cost_key]);
    PROTEUS_CHECK(st.key_of_name[t.cost_key].has_value(), "unparsable cost key " + st.graph.names[t.cost_key]);
  }
}

PreparedSimulation::~PreparedSimulation() = default;
PreparedSimulation::PreparedSimulation(PreparedSimulation&&) noexcept = default;

namespace {

// `db` with `calibration` layered over it (db itself when there is none).
std::shared_ptr<const CostDb> WithCalibration(const std::shared_ptr<const CostDb>& db, const Calibration* calibration) {
  if (!calibration) return db;
  CostDb layer;
  layer.calibrations.push_back(*calibration);
  return std::make_shared<const CostDb>(db ? layer.Overlay(*db) : layer);
}

}  // namespace

const Report& PreparedSimulation::Run(const Calibration* calibration) {
  State& st = *s_;
  st.priced = WithCalibration(st.db, calibration);
  st.compute.clear();
  for (const auto& t : st.types.types)
    st.compute.push_back(
        std::make_unique<ComputeCostModel>(t.gpu, st.types.mixed() ? WithCalibration(t.db, calibration) : st.priced));
  // Collectives and overlap follow the first GPU type's calibration (they are not fitted per type).
  st.calibration = st.compute[0]->calibration();
  CostParamValues calibrated = st.calibration ? ValuesOf(*st.calibration) : CostParamValues{};

  // Price: each distinct (key, GPU type) once, then every task that uses it, as the GPU it runs on.
  size_t keys = st.key_of_name.size();
  std::vector<std::optional<CostEstimate>> price(keys * st.compute.size());
  for (auto& t : st.graph.tasks) {
    if (t.cost_key < 0) continue;
    size_t type = static_cast<size_t>(st.type_of_sim[t.gpu]);
    auto& e = price[type * keys + static_cast<size_t>(t.cost_key)];
    if (!e) e = st.compute[type]->Estimate(*st.key_of_name[t.cost_key]);
    t.duration_s = e->seconds * t.cost_share;
    t.source = e->source;
  }
  CollectiveCorrection cc = CollectiveParams(calibrated);
  // Plans are copied only when a correction applies (a plain simulate never pays for the copy).
  if (!cc.identity() && st.base_plans.empty())
    for (const auto& c : st.graph.comms) st.base_plans.push_back(c.plan);
  if (!cc.identity() || st.plans_corrected) {
    // Each distinct plan is corrected once; the comms that shared it share the corrected copy.
    std::unordered_map<const CollectivePlan*, std::shared_ptr<const CollectivePlan>> corrected;
    for (size_t i = 0; i < st.graph.comms.size(); ++i) {
      const auto& base = st.base_plans[i];
      // NCCL's fitted efficiency and latency are not a cudaMemcpy's (optimizer offload's host copies).
      if (cc.identity() || base->algo == kHostCopyAlgo) {
        st.graph.comms[i].plan = base;
        continue;
      }
      auto [it, fresh] = corrected.try_emplace(base.get());
      if (fresh) {
        CollectivePlan plan = *base;
        CorrectPlan(plan, st.cluster, cc);
        it->second = std::make_shared<const CollectivePlan>(std::move(plan));
      }
      st.graph.comms[i].plan = it->second;
    }
    st.plans_corrected = !cc.identity();
  }
  std::set<OpKey> unmeasured;
  for (const auto& m : st.compute)
    for (auto& key : m->Unmeasured()) unmeasured.insert(std::move(key));
  st.unmeasured.assign(unmeasured.begin(), unmeasured.end());

  InterferenceModel interference(st.priced, OverlapSlowdown(calibrated));
  EngineOptions engine_options;
  engine_options.interference = InterferenceFrom(interference);
  st.result = Simulate(st.graph, engine_options);

  st.report = BuildReport(st.context, st.graph, st.result);
  for (const auto& m : st.compute)
    if (m->calibration())
      st.report.calibration += (st.report.calibration.empty() ? "" : "; ") + DescribeCalibration(*m->calibration());
  return st.report;
}

const std::string& PreparedSimulation::gpu_type() const { return s_->gpu_type; }
const Strategy& PreparedSimulation::strategy() const { return s_->strategy; }
const ExecGraph& PreparedSimulation::graph() const { return s_->graph; }
const SimResult& PreparedSimulation::result() const { return s_->result; }
const Calibration* PreparedSimulation::calibration() const { return s_->calibration; }
std::vector<OpKey> PreparedSimulation::Unmeasured() const { return s_->unmeasured; }
std::shared_ptr<const CostDb> PreparedSimulation::database() const { return s_->priced; }
ExecGraph PreparedSimulation::TakeGraph() { return std::move(s_->graph); }
SimResult PreparedSimulation::TakeResult() { return std::move(s_->result); }

SimulationOutput RunSimulation(const SimulationRequest& request) {
  const RunSpec& spec = request.spec;
  SimulationOutput out;
  if (request.explain_only) {
    Model model = LoadModelFor(spec);
    Cluster cluster = LoadClusterFor(spec);
    out.explain = ExplainStrategy(model, StrategyFor(spec, model, cluster));
    return out;
  }
  PreparedSimulation prepared(spec);
  out.report = prepared.Run(request.calibration_override ? &*request.calibration_override : nullptr);
  if (request.fit_advice && out.report.oom) out.report.fit_advice = FitAdvice(spec, prepared.strategy(), out.report);
  out.unmeasured = prepared.Unmeasured();
  out.gpu_type = prepared.gpu_type();
  out.database = prepared.database();
  out.calibration = prepared.calibration();
  out.graph = prepared.TakeGraph();
  out.result = prepared.TakeResult();
  return out;
}

}  // namespace proteus
