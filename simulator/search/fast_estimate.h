// The fast estimate: a search candidate's iteration time in microseconds, from block costs priced
// once per distinct key by the event simulation itself and a block-level replay of its schedule.
//
// Model.
//   1. Block profile, one per key (tp, sp, mbs, recompute, ZeRO stage, and the search's fixed
//      flags). A representative run is compiled and event-simulated by the very pipeline the
//      search verifies with (same cost model, databases, TP communication with or without
//      --tp-comm-overlap): the model cut to K = min(3, layers) transformer layers, pp 1, dp 2,
//      one micro-batch. Read off its timeline (simulated GPU 0, first task starts):
//        F_layer = (sF(layer K-1) - sF(layer 0)) / (K-1)     forward of one layer
//        B_layer = (sB(layer 0) - sB(layer K-1)) / (K-1)     backward (recompute included)
//        embedding and output (final norm, head, loss) forward and backward: the rest of each span
//        W: the bwd_weight compute of one middle layer (the zero-bubble schedules' split)
//      and, per local parameter, the optimizer step's time and the data-parallel collectives'
//      bytes (gradient all-reduce / reduce-scatter, ZeRO's parameter all-gather).
//      Every transformer layer of a zoo model is the same block, so the cut changes no shape.
//   2. Composition, per candidate. Virtual stage s holds L_s layers (the shorthand's split) and
//      costs L_s x the layer's blocks, plus the embedding on stage 0 and the output on the last.
//      The real order of each pipeline rank (compile/schedule.h PipelineOrder) is replayed block
//      by block: a block starts when its rank is free and its input has arrived; an input from
//      another rank arrives a p2p time (topo's collective model, send/recv of one micro-batch's
//      activation between stage 0 and 1) after its producer ends, and the sender waits for the
//      send unless p2p overlaps compute (the interleaved schedule's default, or --overlap-p2p on).
//      Each rank then adds its tail: the gradient reduction's exposed part, max(T_grad - B_last,
//      T_bucket) (buckets overlap the last backward except the last bucket), the optimizer step
//      (scaled by the rank's local parameters, divided over dp under ZeRO) and ZeRO's parameter
//      all-gather. The iteration is the latest rank's end.
//   3. Peak memory, for pruning only: the static lower bound (search_space.h) plus the most
//      micro-batches any rank holds in flight in the replay x the layers of a stage x a lower
//      bound of one layer's saved activations (model/module.h SavedActivationBytes; with full
//      recompute only the layer input). Each part is meant to be at most what the event
//      simulation allocates, so that it drops only candidates that cannot fit (not measured on
//      the candidates it drops: they are never simulated). On a mixed cluster it is taken per
//      pipeline rank instead (the static bytes of its own parameters plus its own activations)
//      and held against that rank's GPU.
//   4. Mixed GPU types (a cluster whose node groups hold different GPUs). Every key is profiled
//      once per GPU type, its representative on that type's own nodes (topo SubCluster of the
//      type's first node group; only the --db layers of that GPU family price its compute, as
//      pipeline/gpu_pricing.h prices a mixed job). Pipeline rank r owns GPUs [r dp tp, (r+1) dp tp)
//      (mesh [pp, dp, tp]); its stages are priced with the profile of their GPUs' type, its tail
//      on its own data-parallel group, its memory against its type's capacity. A candidate with a
//      pipeline rank whose GPUs are of two types (its data-parallel replicas or its tp group
//      straddle the groups), or a type whose nodes hold fewer than the 2 x tp GPUs of its
//      representative, is not estimated: FastEstimate::unpriced says why and the search gives it
//      the event simulation instead.
// A replay is p x m x (2 or 3) blocks, microseconds; profiles are priced once per key, before the
// candidates, in key order, so the estimates do not depend on the thread count.
//
// Worked example: GPT-3 175B on 5,120 A100s, tp 8 pp 8 dp 80 mbs 1, gbs 2560: m = 32. The profile
// of (tp 8, sp, mbs 1, full, ZeRO 1) is one 3-layer simulation, shared by every pp and dp of that
// key. Stage s holds 12 layers; rank 0's 1F1B order (7 warm-up F, 25 F-B pairs, 7 B) is replayed
// with stage 0's F = 12 F_layer + F_embed; its tail adds the reduce-scatter of 12 layers' gradients
// over the 80 data-parallel GPUs, the step of 1/80 of its parameters and their all-gather.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/costdb.h"
#include "simulator/model/module.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/search/layer_balance.h"
#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

/// The costs of one block key, read off a representative event simulation (model above).
struct BlockProfile {
  double f_layer = 0, b_layer = 0, w_layer = 0;  // seconds per transformer layer
  double f_embed = 0, b_embed = 0, w_embed = 0;  // the embedding (stage 0)
  double f_head = 0, b_head = 0, w_head = 0;     // final norm, lm head and loss (last stage)
  double step_per_param = 0;                     // optimizer step seconds per local parameter
  double grad_bytes_per_param = 0;               // gradient collective bytes per local parameter
  CollOp grad_op = CollOp::kAllReduce;           // all-reduce, or reduce-scatter under ZeRO
  double gather_bytes_per_param = 0;             // ZeRO's parameter all-gather (0: none)
};

struct FastEstimate {
  double iteration_s = 0;
  int64_t peak_memory = 0;  // bytes, a lower bound of the most loaded GPU's peak
  bool oom = false;         // peak_memory above the GPU's capacity
  /// Empty when estimated; else why the fast estimate cannot price the candidate (model 4), and
  /// the other fields are unset.
  std::string unpriced;
};

class FastEstimator {
 public:
  /// `base` names the databases and dtype; `model` and `cluster` are LoadModelFor / LoadClusterFor's.
  FastEstimator(const RunSpec& base, const Model& model, const Cluster& cluster);
  ~FastEstimator();

  /// Prices the profile of every distinct key among `candidates` not priced yet, on `threads`
  /// threads. UserError as the simulation gives it (a key the pipeline rejects).
  void Prepare(const std::vector<StrategyFlags>& candidates, int threads);
  /// The estimate of one prepared candidate; thread-safe.
  FastEstimate Estimate(const StrategyFlags& flags) const;
  /// Per virtual stage of a prepared candidate with one chunk per rank, its costs on its own GPU
  /// type and its layer limit (model 3's bounds, the in-flight count of the even split's replay),
  /// for layer_balance.h; nullopt when the candidate is unpriced or has several chunks per rank.
  std::optional<std::vector<StageCost>> StageCosts(const StrategyFlags& flags) const;
  /// Representative simulations run so far (one per distinct key and GPU type).
  int64_t profiles_priced() const { return static_cast<int64_t>(profiles_.size()); }
  /// The cluster's GPU types, in node-group order; more than one on a mixed cluster.
  const std::vector<std::string>& gpu_types() const { return types_; }

  using Key = std::tuple<int, bool, int, std::string, int>;  // tp, sp, mbs, recompute, zero
  static Key KeyOf(const StrategyFlags& f);

 private:
  struct Layout;  // a candidate's stages, their layers, ranks and profiles (fast_estimate.cc)
  Layout LayoutOf(const StrategyFlags& f) const;
  std::optional<BlockProfile> Price(const StrategyFlags& f, int type) const;
  double Tail(const BlockProfile& prof, const StrategyFlags& f, const std::vector<GpuId>& group, int64_t local,
              double last_backward_s) const;
  double CollectiveTime(CollOp op, std::vector<GpuId> group, int64_t bytes) const;
  double PlanTime(CollOp op, const std::vector<GpuId>& group, int64_t bytes) const;

  RunSpec base_;
  Model model_, cut_;  // the model and its K-layer representative
  Cluster cluster_;
  int cut_layers_ = 1;
  // Facts of the model every estimate needs, counted once (a walk of the module tree each).
  int64_t params_ = 0, params_embed_ = 0, params_layer_ = 0, params_head_ = 0;
  int64_t layer_saved_bytes_ = 0;  // SavedActivationBytes of one layer, one sample
  std::shared_ptr<const CostDb> db_;
  std::unique_ptr<CollectiveModel> collectives_;
  int64_t capacity_ = 0;
  // GPU types in node-group order, per type its first group, memory and databases, per GPU its type.
  std::vector<std::string> types_;
  std::vector<int> type_group_;
  std::vector<int64_t> type_capacity_;
  std::vector<std::vector<std::string>> type_databases_;  // the --db names that price each type
  std::vector<int> gpu_type_;
  // Per key and GPU type; a type that cannot host the key's representative has no entry.
  std::map<std::pair<Key, int>, BlockProfile> profiles_;
  std::map<Key, bool> prepared_;
  mutable std::mutex plan_mutex_;
  mutable std::map<std::tuple<int, std::vector<GpuId>, int64_t>, double> plan_cache_;
};

}  // namespace proteus
