#include "simulator/search/metis_cost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "common/error.h"

namespace proteus {
namespace {

// Metis runs a replica's share as descending power-of-two slices (model/device_group.py).
std::vector<int> PowerOfTwoSlices(int n) {
  std::vector<int> out;
  for (int bit = 30; bit >= 0; --bit)
    if (n & (1 << bit)) out.push_back(1 << bit);
  return out;
}

double Sum(const std::vector<double>& v, int begin, int end) {
  return std::accumulate(v.begin() + begin, v.begin() + end, 0.0);
}

}  // namespace

MetisCostModel::MetisCostModel(const MetisProfiles& profiles, const MetisCluster& cluster, MetisModelShape shape,
                               int gbs, int max_bs)
    : profiles_(profiles), cluster_(cluster), shape_(shape), gbs_(gbs), max_bs_(max_bs),
      gpus_per_node_(cluster.nodes.at(0).gpus) {
  SetOrder(cluster.Types());
}

void MetisCostModel::SetOrder(const std::vector<std::string>& order) {
  rank_type_.clear();
  for (const auto& type : order) rank_type_.insert(rank_type_.end(), cluster_.GpusOf(type), type);
  PROTEUS_CHECK(static_cast<int>(rank_type_.size()) == cluster_.TotalGpus(), "type order must name every type once");
}

bool MetisCostModel::SingleType(int first_rank, int gpus) const {
  return rank_type_[first_rank] == rank_type_[first_rank + gpus - 1];
}

double MetisCostModel::Bandwidth(const std::vector<int>& ranks) const {
  std::set<int> nodes;
  for (int r : ranks) nodes.insert(r / gpus_per_node_);
  double bw = INFINITY;
  for (int node : nodes) bw = std::min(bw, cluster_.FirstOf(rank_type_[node * gpus_per_node_]).intra_bandwidth);
  return bw * 1024 * 1024;
}

std::vector<int> MetisCostModel::SplitBatch(int first_rank, const MetisStage& s, int bs) const {
  int group = s.gpus / s.dp;
  std::vector<double> speed;
  for (int i = 0; i < s.dp; ++i) {
    const MetisProfile* p = profiles_.Find(rank_type_[first_rank + i * group], s.tp, 1);
    speed.push_back(p ? 1.0 / Sum(p->layer_ms, 0, profiles_.num_layers) : 0.0);
  }
  double total = std::accumulate(speed.begin(), speed.end(), 0.0);
  std::vector<int> share(s.dp);
  std::vector<double> frac(s.dp);
  int given = 0;
  for (int i = 0; i < s.dp; ++i) {
    double exact = total > 0 ? bs * speed[i] / total : 0;
    share[i] = static_cast<int>(exact);
    frac[i] = exact - share[i];
    given += share[i];
  }
  std::vector<int> order(s.dp);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return frac[a] > frac[b]; });
  for (int i = 0; i < bs - given && i < s.dp; ++i) ++share[order[i]];
  return share;
}

std::optional<std::vector<MetisCostModel::Piece>> MetisCostModel::StagePieces(int first_rank, const MetisStage& s,
                                                                              int batches) const {
  std::vector<Piece> pieces;
  if (SingleType(first_rank, s.gpus)) {
    int bs = gbs_ / s.dp / batches;
    pieces.push_back({0, bs, profiles_.Find(rank_type_[first_rank], s.tp, bs)});
  } else {
    std::vector<int> share = SplitBatch(first_rank, s, gbs_ / batches);
    for (int i = 0; i < s.dp; ++i)
      for (int slice : PowerOfTwoSlices(share[i]))
        pieces.push_back({i, slice, profiles_.Find(rank_type_[first_rank + i * (s.gpus / s.dp)], s.tp, slice)});
  }
  for (const Piece& piece : pieces)
    if (!piece.profile) return std::nullopt;
  return pieces;
}

std::optional<double> MetisCostModel::StageTime(int first_rank, const MetisStage& s, int first_layer, int batches) const {
  auto pieces = StagePieces(first_rank, s, batches);
  if (!pieces) return std::nullopt;
  int end = first_layer + s.layers;
  // A replica runs its slices one after another; the stage takes as long as its slowest replica.
  // Only a mixed stage's slices can exceed the largest profiled batch (Metis' check).
  bool mixed = !SingleType(first_rank, s.gpus);
  std::vector<double> replica_ms(s.dp, 0.0);
  for (const Piece& piece : *pieces) {
    if (mixed && piece.bs > max_bs_) return std::nullopt;
    replica_ms[piece.replica] += Sum(piece.profile->layer_ms, first_layer, end);
  }
  return *std::max_element(replica_ms.begin(), replica_ms.end());
}

std::optional<bool> MetisCostModel::StageFits(int first_rank, const MetisStage& s, int first_layer, int batches) const {
  constexpr double kMemCoef = 5.0;  // Metis' mem_coef (model/load_balancer.py)
  auto pieces = StagePieces(first_rank, s, batches);
  if (!pieces) return std::nullopt;
  int end = first_layer + s.layers;
  double demand = 0.001, capacity = 0;
  for (int r = first_rank; r < first_rank + s.gpus; ++r) capacity += cluster_.FirstOf(rank_type_[r]).memory_gb * 1024;
  for (const Piece& piece : *pieces) demand += kMemCoef * Sum(piece.profile->layer_mem_mb, first_layer, end);
  return demand <= capacity;
}

double MetisCostModel::StageParams(const MetisStage& s, int first_layer) const {
  const auto& params = profiles_.param_bytes;
  int n = profiles_.num_layers, blocks = s.layers;
  double bytes = 0;
  if (first_layer == 0) bytes += params.front() / s.tp, --blocks;
  if (first_layer + s.layers == n) bytes += params.back() / s.tp, --blocks;
  return bytes + params[1] / s.tp * blocks;
}

double MetisCostModel::DpCost(int first_rank, const MetisStage& s, int first_layer) const {
  if (s.dp == 1) return 0;
  // Replica d holds ranks first + t dp + d for t < tp (cluster_bandwidth.py _get_dp_groups).
  double bw = INFINITY;
  for (int d = 0; d < s.dp; ++d) {
    std::vector<int> ranks;
    for (int t = 0; t < s.tp; ++t) ranks.push_back(first_rank + t * s.dp + d);
    bw = std::min(bw, Bandwidth(ranks));
  }
  return 2.0 * (s.dp - 1) / (s.dp * bw) * StageParams(s, first_layer);
}

double MetisCostModel::UpdateCost(const MetisStage& s) const {
  return profiles_.optimizer_ms / s.tp * s.layers / profiles_.num_layers;
}

double MetisCostModel::PpCost(int first_rank, const MetisStage& s, int next_gpus, int end_layer, int batches) const {
  std::vector<int> ranks;
  for (int r = first_rank; r < first_rank + s.gpus + next_gpus; ++r) ranks.push_back(r);
  double mbs = gbs_ / s.dp / batches;
  // Metis sizes the send after layer N-1 as logits; with N layers that is never a stage boundary
  // except the one before the head, so we keep its test (activation_parameter.py) as written.
  double bytes = end_layer == profiles_.num_layers - 1 ? mbs * shape_.seq * shape_.vocab / s.tp
                                                       : mbs * shape_.seq * shape_.hidden;
  return bytes / Bandwidth(ranks);
}

std::optional<double> MetisCostModel::FbSync(int first_rank, const MetisStage& s, int batches) const {
  double worst = 0;
  for (int r = first_rank; r < first_rank + s.gpus; ++r) {
    const MetisProfile* p = profiles_.Find(rank_type_[r], s.tp, gbs_ / s.dp / batches);
    if (!p) return std::nullopt;
    worst = std::max(worst, p->fb_sync_ms);
  }
  return worst * batches;
}

std::optional<double> MetisCostModel::Cost(const MetisPlan& plan) {
  SetOrder(plan.type_order);
  double sum_len = 0, max_len = 0, pp = 0, dp = 0, update = 0, fb = 0;
  int rank = 0, layer = 0, n = static_cast<int>(plan.stages.size());
  for (int i = 0; i < n; ++i) {
    const MetisStage& s = plan.stages[i];
    auto len = StageTime(rank, s, layer, plan.batches);
    auto fits = StageFits(rank, s, layer, plan.batches);
    if (!len || !fits || !*fits) return std::nullopt;
    sum_len += *len, max_len = std::max(max_len, *len);
    if (i == n - 1) {
      auto f = FbSync(rank, s, plan.batches);
      if (!f) return std::nullopt;
      fb = *f;
    } else {
      pp += PpCost(rank, s, plan.stages[i + 1].gpus, layer + s.layers, plan.batches);
    }
    dp = std::max(dp, DpCost(rank, s, layer));
    update = std::max(update, UpdateCost(s));
    rank += s.gpus, layer += s.layers;
  }
  return (plan.batches - 1) * max_len + sum_len + fb + update + dp + pp + plan.batches * profiles_.batch_generator_ms;
}

}  // namespace proteus
