// Measured collective curves layered over the topology model.
//
// A curve of the cost database (same op, ranks, nodes, ranks per node, dtype; algorithm and protocol
// "default" = NCCL's own choice) wins over the model. Between two measured sizes the time is
// interpolated linearly in log2(size); below the smallest size the smallest time holds (latency
// floor); above the largest the last point's bandwidth holds. The flows still come from the model
// (the route the algorithm uses), their rates scaled so that alone they end at the measured time.
// Worked example: points (1 MiB, 30 us) and (4 MiB, 60 us): 2 MiB is halfway in log2 -> 45 us.
#pragma once

#include <memory>
#include <optional>

#include "common/costdb.h"
#include "topo/nccl_model.h"

namespace proteus {

/// Interpolates a curve at `bytes` (see above). nullopt for an empty curve.
std::optional<double> InterpolateCurve(const CollectiveCurve& curve, int64_t bytes);

class MeasuredCollectiveModel : public CollectiveModel {
 public:
  MeasuredCollectiveModel(std::unique_ptr<TopologyCollectiveModel> base, const CostDb* db)
      : base_(std::move(base)), db_(db) {}
  CollectivePlan Plan(const CollectiveRequest& request) const override;
  /// The model's: a measured curve rescales the model's flows, it does not reroute them.
  std::optional<std::vector<LinkId>> Footprint(CollOp op, const std::vector<GpuId>& group) const override {
    return base_->Footprint(op, group);
  }

 private:
  std::unique_ptr<TopologyCollectiveModel> base_;
  const CostDb* db_;
};

/// MakeCollectiveModel with options (NCCL version, forced algorithm/protocol). The cluster (and db)
/// must outlive the model.
std::unique_ptr<CollectiveModel> MakeCollectiveModel(const Cluster& cluster, const CostDb* db,
                                                     const CollectiveModelOptions& options);

}  // namespace proteus
