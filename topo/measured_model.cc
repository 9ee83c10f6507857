#include "topo/measured_model.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace proteus {

std::optional<double> InterpolateCurve(const CollectiveCurve& curve, int64_t bytes) {
  const auto& pts = curve.points;
  if (pts.empty()) return std::nullopt;
  if (bytes <= pts.front().bytes) return pts.front().time_s;
  if (bytes >= pts.back().bytes) {
    const auto& last = pts.back();
    return last.bytes > 0 ? last.time_s * double(bytes) / last.bytes : last.time_s;
  }
  auto hi = std::lower_bound(pts.begin(), pts.end(), bytes, [](const CurvePoint& p, int64_t b) { return p.bytes < b; });
  auto lo = hi - 1;
  if (hi->bytes == bytes) return hi->time_s;
  double x0 = std::log2(double(std::max<int64_t>(lo->bytes, 1))), x1 = std::log2(double(hi->bytes));
  double w = (std::log2(double(bytes)) - x0) / (x1 - x0);
  return lo->time_s + w * (hi->time_s - lo->time_s);
}

CollectivePlan MeasuredCollectiveModel::Plan(const CollectiveRequest& request) const {
  CollectivePlan plan = base_->Plan(request);
  if (!db_ || request.group.size() < 2 || plan.algo == "local") return plan;
  GroupShape shape = base_->Shape(request.group);
  CollectiveKey key;
  key.op = std::string(CollOpName(request.op));
  key.ranks = shape.ranks;
  key.nodes = shape.nodes;
  key.ranks_per_node = shape.ranks % shape.nodes == 0 ? shape.ranks / shape.nodes : 0;
  key.dtype = request.dtype;
  const CollectiveCurve* curve = db_->FindCurve(key);
  if (!curve) return plan;
  auto time = InterpolateCurve(*curve, request.bytes);
  if (!time || *time <= 0) return plan;
  plan.time_s = *time;
  plan.latency_s = std::min(plan.latency_s, 0.5 * *time);
  double transfer = plan.time_s - plan.latency_s;
  for (auto& f : plan.flows) f.max_rate = f.bytes / transfer;
  plan.source = "measured:" + key.ToString();
  return plan;
}

std::unique_ptr<CollectiveModel> MakeCollectiveModel(const Cluster& cluster, const CostDb* db,
                                                     const CollectiveModelOptions& options) {
  auto base = std::make_unique<TopologyCollectiveModel>(cluster, options);
  if (!db) return base;
  return std::make_unique<MeasuredCollectiveModel>(std::move(base), db);
}

std::unique_ptr<CollectiveModel> MakeCollectiveModel(const Cluster& cluster, const CostDb* db) {
  return MakeCollectiveModel(cluster, db, CollectiveModelOptions{});
}

}  // namespace proteus
