#include "simulator/cli/simulation.h"

#include <sstream>

#include "common/costdb.h"
#include "common/data_dir.h"
#include "common/error.h"
#include "common/log.h"
#include "common/units.h"
#include "simulator/compile/compile.h"
#include "simulator/compile/op_cost.h"
#include "simulator/cost/compute_cost.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/cost/interference.h"
#include "simulator/engine/engine.h"
#include "simulator/model/model_file.h"
#include "simulator/model/zoo.h"
#include "simulator/report/build_report.h"
#include "simulator/strategy/explain.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/validate.h"
#include "topo/bandwidth_scale.h"
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

Model LoadModelFor(const RunSpec& spec) {
  Model model = spec.model_doc.is_object() ? ModelFromDocument(spec.model_doc, spec.model_origin)
                                           : LoadModel(spec.model);
  if (!spec.dtype.empty()) {
    auto dtype = ParseDType(spec.dtype);
    if (!dtype || (*dtype != DType::kBf16 && *dtype != DType::kFp16 && *dtype != DType::kFp32))
      throw UserError("--dtype", "expected bf16, fp16 or fp32, got \"" + spec.dtype + "\"");
    ConvertDtype(model.root, model.dtype, *dtype);
    model.dtype = *dtype;
  }
  return model;
}

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

Cluster LoadClusterFor(const RunSpec& spec) {
  if (auto path = ResolveDataFile("clusters", spec.cluster, ".json")) return LoadCluster(*path);
  if (auto scaled = ScaledShippedCluster(spec.cluster)) return *scaled;
  throw UserError("--cluster", "no cluster file or shipped cluster named \"" + spec.cluster +
                                   "\" (shipped: " + ListDataNames("clusters", ".json") +
                                   "; any node count of a shipped family also works, e.g. dgx-h100-64)");
}

std::shared_ptr<const CostDb> LoadDatabases(const std::vector<std::string>& paths) {
  if (paths.empty()) return nullptr;
  CostDb merged;
  for (const auto& p : paths) {
    auto path = ResolveDataFile("db", p, ".json");
    if (!path) throw UserError("--db", "no database file or shipped database named \"" + p + "\"");
    merged = CostDb::Load(*path).Overlay(merged);
  }
  return std::make_shared<const CostDb>(std::move(merged));
}

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

ShorthandOptions ToShorthand(const StrategyFlags& f, int cluster_gpus) {
  ShorthandOptions o;
  o.tp = f.tp;
  o.pp = f.pp;
  int64_t model_parallel = int64_t{f.tp} * f.pp;  // flags may be huge: no int overflow here
  if (model_parallel > cluster_gpus)
    throw UserError("--tp/--pp", "tp x pp = " + std::to_string(model_parallel) + " exceeds the cluster's " +
                                     std::to_string(cluster_gpus) + " GPUs");
  o.dp = f.dp > 0 ? f.dp : static_cast<int>(cluster_gpus / model_parallel);
  o.micro_batch = f.mbs;
  o.global_batch = f.gbs;
  o.schedule = f.schedule;
  o.zero = f.zero;
  o.recompute = f.recompute;
  o.sequence_parallel = f.sp;
  if (!f.pp_layers.empty()) o.pp_layers = ParseLayerList(f.pp_layers);
  if (f.grad_bucket_mb > 0) o.grad_bucket_bytes = f.grad_bucket_mb * 1024 * 1024;
  return o;
}

std::string DescribeStrategy(const Strategy& s) {
  std::ostringstream os;
  for (size_t i = 0; i < s.mesh.size(); ++i) os << (i ? " x " : "") << s.mesh[i].name << " " << s.mesh[i].size;
  os << ", mbs " << s.micro_batch << ", gbs " << s.global_batch << ", " << ScheduleKindName(s.schedule.kind);
  if (s.schedule.kind == ScheduleKind::kInterleaved) os << ":" << s.schedule.chunks;
  return os.str();
}

}  // namespace

SimulationOutput RunSimulation(const SimulationRequest& request) {
  const RunSpec& spec = request.spec;
  SimulationOutput out;
  Model model = LoadModelFor(spec);
  Cluster cluster = LoadClusterFor(spec);
  if (spec.bandwidth_scale != 1.0) {
    if (!(spec.bandwidth_scale > 0)) throw UserError("--bandwidth-scale", "must be a positive factor");
    cluster = ScaleBandwidth(cluster, spec.bandwidth_scale);
  }
  Strategy strategy = spec.strategy_file.empty() ? ExpandShorthand(model, ToShorthand(spec.flags, cluster.NumGpus()))
                                                 : LoadStrategy(spec.strategy_file);
  if (request.explain_only) {
    ValidateStrategy(model, strategy, cluster);
    out.explain = ExplainStrategy(model, strategy);
    return out;
  }
  ValidateStrategy(model, strategy, cluster);
  auto db = LoadDatabases(spec.databases);
  out.gpu_type = cluster.GroupOf(0).gpu_type;
  for (const auto& group : cluster.groups)
    if (group.gpu_type != out.gpu_type)
      LogWarn("cluster " + cluster.name + " mixes GPU types (" + out.gpu_type + ", " + group.gpu_type +
              "): compute costs use " + out.gpu_type + " for every GPU; links and memory follow each group");
  GpuSpec gpu = LoadGpuSpec(out.gpu_type);
  ComputeCostModel compute(gpu, db);
  auto collectives = MakeCollectiveModel(cluster, db.get());

  DbOpCoster coster(compute);
  CompileInputs inputs;
  inputs.model = &model;
  inputs.strategy = &strategy;
  inputs.cluster = &cluster;
  inputs.collectives = collectives.get();
  inputs.coster = &coster;
  CompileOptions options;
  options.symmetry = spec.symmetry;
  CompileResult compiled = Compile(inputs, options);
  out.graph = std::move(compiled.graph);

  InterferenceModel interference(db);
  EngineOptions engine_options;
  engine_options.interference = InterferenceFrom(interference);
  out.result = Simulate(out.graph, engine_options);

  ReportContext context;
  context.model = model.name;
  context.cluster = cluster.name.empty() ? spec.cluster : cluster.name;
  context.strategy = DescribeStrategy(strategy);
  context.gpu_type = out.gpu_type;
  context.dtype = std::string(DTypeName(model.dtype));
  context.params = model.Params();
  context.global_batch = strategy.global_batch;
  context.micro_batches = strategy.NumMicrobatches();
  context.seq_len = model.seq_len;
  context.model_flops = compiled.summary.model_flops;
  context.peak_flops_per_gpu = gpu.PeakFlops(model.dtype);
  out.report = BuildReport(context, out.graph, out.result);
  out.unmeasured = compiled.summary.unmeasured;
  return out;
}

}  // namespace proteus
