// Metis' cost model (SamsungLabs/Metis model/cost_estimator.py, HeteroCostEstimator.get_cost), so
// that a plan found here can be compared with Metis' by Metis' own numbers.
//
// A plan orders the device types (rank r belongs to the type whose block of ranks holds it), cuts
// the ranks into stages of g_s GPUs, gives each stage (dp_s, tp_s) with dp_s tp_s = g_s and L_s
// consecutive layers, and runs b micro-batches (mbs_s = gbs / dp_s / b). Its cost in ms is
//
//   (b - 1) max_s len_s + sum_s len_s          len_s: the stage's layer times at (tp_s, mbs_s)
//   + b fb_sync(last stage)                    forward_backward_time - sum of layer times
//   + max_s optimizer / tp_s x L_s / layers    parameter update
//   + max_s 2 (dp_s - 1) / (dp_s bw) P_s       gradient all-reduce of the stage's parameters
//   + sum_{s < S-1} activation_s / bw          pipeline sends (the head's logits after layer N-2)
//   + b batch_generator
//
// bw is Metis' "slowest" bandwidth x 2^20: a group inside one node uses its type's intra_bandwidth,
// one across nodes the smallest intra_bandwidth of the types involved (Metis' GPUCluster returns
// intra_bandwidth for inter too; we reproduce its numbers, not its intent). A stage mixing types
// splits its b-th of the batch over its replicas by their tp/bs-1 speed (DataLoadBalancer) and each
// replica runs its share as power-of-two slices; len_s is the slowest replica.
//
// Memory (LayerLoadBalancer): a stage fits when 5 x the sum of its layers' profiled memory is at
// most the sum of its GPUs' memory. Metis prices that with the first type of the ordering for every
// stage; we use each stage's own type (a deviation, docs/search.md).
//
// Worked example (tests/search/metis_cost_test.cc): 1 stage, 1 A100 node of 4, dp 4 tp 1, b 8 of a
// batch of 32 -> mbs 1; cost = 8 x sum(layer_ms) + 8 fb_sync + optimizer + dp + 8 batch_generator.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "simulator/search/metis_inputs.h"

namespace proteus {

/// Metis' model shape (its --hidden_size, --sequence_length, --vocab_size).
struct MetisModelShape {
  int hidden = 4096, seq = 1024, vocab = 51200;
};

struct MetisStage {
  int gpus = 0, dp = 0, tp = 0, layers = 0;
  bool operator==(const MetisStage&) const = default;
};

struct MetisPlan {
  std::vector<std::string> type_order;  ///< device types, first owns ranks 0..
  std::vector<MetisStage> stages;
  int batches = 0;  ///< micro-batches per iteration
  bool operator==(const MetisPlan&) const = default;
};

/// Everything the cost model reads, with the rank -> type map of one type order.
class MetisCostModel {
 public:
  MetisCostModel(const MetisProfiles& profiles, const MetisCluster& cluster, MetisModelShape shape, int gbs, int max_bs);

  const MetisProfiles& profiles() const { return profiles_; }
  const MetisCluster& cluster() const { return cluster_; }
  int gbs() const { return gbs_; }
  int max_bs() const { return max_bs_; }

  /// Sets the type order every following call prices with.
  void SetOrder(const std::vector<std::string>& order);
  const std::string& TypeOfRank(int rank) const { return rank_type_[rank]; }
  bool SingleType(int first_rank, int gpus) const;

  /// len_s in ms, or nullopt when a profile is missing (Metis' KeyError).
  std::optional<double> StageTime(int first_rank, const MetisStage& s, int first_layer, int batches) const;
  /// Whether 5 x the stage's layer memory fits its GPUs (nullopt: a profile is missing).
  std::optional<bool> StageFits(int first_rank, const MetisStage& s, int first_layer, int batches) const;
  double DpCost(int first_rank, const MetisStage& s, int first_layer) const;
  double UpdateCost(const MetisStage& s) const;
  double PpCost(int first_rank, const MetisStage& s, int next_gpus, int end_layer, int batches) const;
  std::optional<double> FbSync(int first_rank, const MetisStage& s, int batches) const;
  /// The whole plan's cost in ms; nullopt when a profile is missing or a stage does not fit.
  std::optional<double> Cost(const MetisPlan& plan);

  /// Replica shares of one micro-batch of `bs` samples over a mixed stage (Metis' partition_data).
  std::vector<int> SplitBatch(int first_rank, const MetisStage& s, int bs) const;

 private:
  // A profile one micro-batch of a stage runs, on data-parallel replica `replica`, at `bs` samples.
  struct Piece {
    int replica = 0, bs = 0;
    const MetisProfile* profile = nullptr;
  };
  // A single-type stage runs one profile (every replica alike); a mixed one runs each replica's
  // share as its power-of-two slices. nullopt when one of them is not profiled.
  std::optional<std::vector<Piece>> StagePieces(int first_rank, const MetisStage& s, int batches) const;
  double Bandwidth(const std::vector<int>& ranks) const;  // bytes/ms x 2^20 / 1000, Metis' units
  double StageParams(const MetisStage& s, int first_layer) const;

  const MetisProfiles& profiles_;
  const MetisCluster& cluster_;
  MetisModelShape shape_;
  int gbs_, max_bs_, gpus_per_node_;
  std::vector<std::string> rank_type_;
};

}  // namespace proteus
