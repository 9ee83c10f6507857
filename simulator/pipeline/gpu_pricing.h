// Which GPU prices which task, on a cluster of one GPU type or of several.
//
// Rule: a compute task is priced as the GPU it runs on (cluster GPU = mesh rank). Per distinct GPU
// type of the job's ranks: its own GpuSpec (roofline), the --db layers that apply to it, and the
// calibration for that type found in those layers. Which layers apply:
//   - one GPU type: every layer, as given; a layer measured on another GPU family is used anyway
//     (a projection may be meant), with a warning naming both;
//   - several types: a layer applies to the types of its own GPU family only (cost/gpu_family.h;
//     a layer with no device name applies to all); a layer of no type of the job is not used for
//     compute, with a warning. Collective curves and interference entries still come from the
//     whole stack (they are not split by GPU type yet), and are warned about.
// Worked example: hetero-a100-v100, --db a100.json (device "NVIDIA A100-SXM4-80GB"), pp 2 x dp 2
// x tp 8: ranks 0-15 are A100 (priced from the A100 spec and a100.json), ranks 16-31 V100 (the
// V100 spec alone: roofline); MFU's denominator is 16 x 312 + 16 x 15.7 TFLOP/s (bf16; V100
// has no bf16 tensor cores).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "simulator/cost/gpu_spec.h"
#include "topo/cluster.h"

namespace proteus {

/// One --db layer as loaded.
struct DbLayer {
  std::string path;
  CostDb db;
};

/// Loads the layers, lowest first. UserError("--db") for a name that is no file or shipped database.
std::vector<DbLayer> LoadDbLayers(const std::vector<std::string>& names);

/// Every layer merged, later ones winning (CostDb::Overlay); null when there are none.
std::shared_ptr<const CostDb> MergeDbLayers(const std::vector<DbLayer>& layers);

/// One GPU type of a job and what prices its tasks.
struct GpuTypePricing {
  std::string type;                  // GPU spec name, "A100-SXM4-80GB"
  GpuSpec gpu;                       // LoadGpuSpec(type)
  std::shared_ptr<const CostDb> db;  // the layers that apply to this type, merged (null: none)
  int64_t gpus = 0;                  // the job's GPUs of this type
};

struct JobGpuTypes {
  std::vector<GpuTypePricing> types;  // in order of the first rank of each type (rank 0's first)
  std::vector<int> type_of_rank;      // per rank of the job: index into types
  bool mixed() const { return types.size() > 1; }
  /// "A100-SXM4-80GB", or "A100-SXM4-80GB + V100-SXM2-32GB" on a mixed job.
  std::string Label() const;
};

/// The GPU types of ranks 0..ranks-1 of `cluster` and their databases (rule above); warns as the
/// rule says. `ranks` must not exceed the cluster's GPUs.
JobGpuTypes ResolveGpuTypes(const Cluster& cluster, int ranks, const std::vector<DbLayer>& layers);

}  // namespace proteus
