#include "simulator/pipeline/gpu_pricing.h"

#include "common/data_dir.h"
#include "common/error.h"
#include "common/log.h"
#include "simulator/cost/gpu_family.h"

namespace proteus {

std::vector<DbLayer> LoadDbLayers(const std::vector<std::string>& names) {
  std::vector<DbLayer> layers;
  for (const auto& name : names) {
    auto path = ResolveDataFile("db", name, ".json");
    if (!path) throw UserError("--db", "no database file or shipped database named \"" + name + "\"");
    layers.push_back({*path, CostDb::Load(*path)});
  }
  return layers;
}

namespace {

// The layers `use` selects, merged lowest first; null when it selects none.
template <typename Use>
std::shared_ptr<const CostDb> Merge(const std::vector<DbLayer>& layers, Use use) {
  CostDb merged;
  bool any = false;
  for (const auto& layer : layers) {
    if (!use(layer)) continue;
    merged = layer.db.Overlay(merged);
    any = true;
  }
  return any ? std::make_shared<const CostDb>(std::move(merged)) : nullptr;
}

// One GPU type: every layer, a foreign one with a warning (as before mixed clusters were priced).
void WarnForeignLayers(const std::vector<DbLayer>& layers, const std::string& type) {
  for (const auto& layer : layers)
    if (!SameGpuFamily(layer.db.device.name, type))
      LogWarn(layer.path + ": measured on " + layer.db.device.name + ", but the cluster's GPUs are " + type +
              "; its measured entries are used as they are, and a calibration applies only to its own GPU type");
}

// Several GPU types: a layer of none of them prices nothing; curves and interference stay shared.
void WarnMixedLayers(const std::vector<DbLayer>& layers, const JobGpuTypes& job) {
  if (layers.empty()) return;
  for (const auto& layer : layers) {
    bool used = false;
    for (const auto& t : job.types) used = used || SameGpuFamily(layer.db.device.name, t.type);
    if (!used)
      LogWarn(layer.path + ": measured on " + layer.db.device.name + ", none of the job's GPU types (" + job.Label() +
              "); its operator entries and calibration price no GPU");
  }
  LogWarn("the job mixes GPU types (" + job.Label() +
          "): each GPU's compute is priced as its own type, but measured collective curves and interference "
          "factors come from every --db layer, whatever GPU they were measured on");
}

}  // namespace

std::shared_ptr<const CostDb> MergeDbLayers(const std::vector<DbLayer>& layers) {
  return Merge(layers, [](const DbLayer&) { return true; });
}

std::string JobGpuTypes::Label() const {
  std::string label;
  for (const auto& t : types) label += (label.empty() ? "" : " + ") + t.type;
  return label;
}

JobGpuTypes ResolveGpuTypes(const Cluster& cluster, int ranks, const std::vector<DbLayer>& layers) {
  PROTEUS_CHECK(ranks > 0 && ranks <= cluster.NumGpus(), "job ranks outside the cluster");
  JobGpuTypes job;
  job.type_of_rank.resize(ranks);
  for (int r = 0; r < ranks; ++r) {
    const std::string& type = cluster.GroupOf(r).gpu_type;
    size_t i = 0;
    while (i < job.types.size() && job.types[i].type != type) ++i;
    if (i == job.types.size()) job.types.push_back({type, LoadGpuSpec(type), nullptr, 0});
    job.types[i].gpus++;
    job.type_of_rank[r] = static_cast<int>(i);
  }
  if (!job.mixed()) {
    WarnForeignLayers(layers, job.types[0].type);
    job.types[0].db = MergeDbLayers(layers);
    return job;
  }
  WarnMixedLayers(layers, job);
  for (auto& t : job.types)
    t.db = Merge(layers, [&](const DbLayer& layer) { return SameGpuFamily(layer.db.device.name, t.type); });
  return job;
}

}  // namespace proteus
