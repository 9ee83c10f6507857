// proteus-sim search: the candidates of a search space (search_space.h), ranked by predicted
// iteration time, with every reported plan event-simulated.
//
// Model. Three passes over the candidates that survive the static checks:
//   0. Fast estimate (search/fast_estimate.h): every candidate, from block costs the event
//      simulation prices once per key and a block-level replay of its schedule, microseconds each.
//      The `estimate` fastest that may fit (its memory bound prunes only what cannot) go on.
//      With layer balancing (SearchSpace::balance_layers, or a mixed-GPU cluster) each candidate
//      of pp > 1 and one chunk per rank also gets a variant with the split layer_balance.h finds
//      on the fast estimate (its flags carry --pp-layers), when it differs from the even split.
//      A candidate the fast estimate cannot price (a stage on two GPU types) skips the ranking
//      and goes on to the estimate, whatever `estimate` is.
//   1. Estimate. A pipeline's iteration grows linearly in its micro-batches m once the pipeline is
//      full: T(m) = T0 + m t, with T0 the fill, drain, gradient reduction and optimizer step. So a
//      candidate with m > 3 pp is simulated, by the same event engine, at m1 = 2 pp and m2 = 3 pp
//      micro-batches and extrapolated:  T(m) ~ T(m2) + (m - m2) (T(m2) - T(m1)) / (m2 - m1).
//      Its peak memory is the m2 run's: under 1F1B and its variants at most pp micro-batches are
//      in flight, so more of them add no activations. Smaller m is simulated as is.
//   2. Verify. The `verify` best estimates that fit are simulated at their real m; the ranking
//      reported is by those full simulations, so the winner is always event-simulated.
// Evaluation is in-process; candidates are split over threads and the results are put back in
// candidate order, so the output does not depend on the thread count.
//
// Worked example: GPT-3 175B, 1,024 GPUs, gbs 1536, tp 8 pp 8 dp 16 mbs 1: m = 96; the fast
// estimate replays 8 x 96 x 2 blocks priced by one 3-layer simulation, the estimate (if it ranks
// among the `estimate` best) simulates 16 and 24 micro-batches (a quarter of the tasks each) and
// the verify pass the 96.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "simulator/pipeline/run_spec.h"
#include "simulator/search/search_space.h"

namespace proteus {

struct SearchOptions {
  int top = 10;                  // plans in the result
  int verify = 0;                // estimates simulated in full (0: top)
  int estimate = 0;              // best fast estimates given the two-simulation estimate (0: 3 x verify)
  int64_t budget = 0;            // most candidates estimated, in enumeration order (0: all)
  int threads = 0;               // 0: the machine's hardware threads
  /// Called after each evaluation with (done, total) for the pass named; may be empty.
  std::function<void(const std::string& pass, int64_t done, int64_t total)> progress;
};

struct SearchEntry {
  StrategyFlags flags;
  double iteration_time_s = 0;   // full event simulation (verified) or the estimate
  double estimate_s = 0;         // the estimate's iteration time
  double fast_estimate_s = 0;    // the fast estimate's iteration time (0 when not fast-estimated)
  bool fast_estimated = true;    // false: the fast estimate could not price it (FastEstimate::unpriced)
  std::vector<int> layers;       // layers per pipeline stage (virtual stage), the split it trains
  double mfu = 0, tokens_per_s = 0;
  int64_t peak_memory = 0;       // bytes, the most loaded GPU
  bool verified = false;         // simulated with the real micro-batch count
};

struct SearchResult {
  std::vector<SearchEntry> ranked;        // verified plans that fit, fastest first (at most top)
  std::map<std::string, int64_t> pruned;  // reason -> candidates dropped (static, simulated, rejected)
  int64_t considered = 0;                 // combinations of the space
  int64_t fast_estimated = 0;             // candidates given the fast estimate (all that survive)
  int64_t balanced = 0;                   // of them, layer-balanced variants the search added
  int64_t unpriced = 0;                   // of them, ones it could not price (event-simulated instead)
  std::string unpriced_example;           // why, for the first of those
  int64_t profiles = 0;                   // block profiles priced for it (one simulation each)
  int64_t estimated = 0;                  // candidates given the two-simulation estimate
  int64_t simulations = 0;                // event simulations run (every pass, profiles included)
};

/// Searches `space` for the run `base` names (model, cluster, databases, dtype; its strategy flags
/// are replaced by each candidate's). UserError on bad input, or when no candidate survives.
SearchResult RunSearch(const RunSpec& base, const SearchSpace& space, const SearchOptions& options);

}  // namespace proteus
