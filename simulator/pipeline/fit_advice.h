// Fit advice: when a simulated run is out of memory, what would make it fit.
//
// Model. Memory per GPU falls with a smaller micro-batch (activations), recomputation (activations
// kept per layer), a higher ZeRO stage (optimizer states, then gradients, sharded over dp) and more
// pipeline stages at the same GPU count (fewer layers per GPU; dp halves). Where the strategy came
// from shorthand flags, each change is simulated, one at a time from the run as given, and only the
// changes whose simulation fits are advised (with the peak they reach):
//   1. the largest micro-batch below the current one that divides gbs / dp and fits;
//   2. recompute selective, then full;
//   3. the next ZeRO stage (up to the highest --zero accepts, kMaxAdvisedZeroStage);
//   4. twice the pipeline stages at half the data parallelism;
//   5. if none alone fits: all of them together (mbs 1, full recompute, highest ZeRO, pp x 2).
// The simulations are capped (kMaxFitSimulations); a change that is not a valid strategy (layers
// not dividing, batch arithmetic) is skipped. When nothing fits, the advice says so and names the
// static memory that is left. For a strategy file the advice is in words, unverified.
//
// Worked example: GPT-3 1.3B, dp 8, --zero 1, mbs 30, gbs 480 on 8 A100 80 GB: peak 129 GiB, 49
// GiB over. mbs 20 is simulated and does not fit, mbs 15 does: "--mbs 15 (peak 69.7 GiB of 80.0
// GiB, iteration 4.790 s)"; selective recompute does not, full does: "--recompute full (peak 30.0
// GiB ...)"; pp 2 x dp 4 does not. 6 simulations, 0.6 s in all.
#pragma once

#include <string>
#include <vector>

#include "simulator/pipeline/run_spec.h"
#include "simulator/report/report.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

inline constexpr int kMaxFitSimulations = 10;

/// Advice for `report` (out of memory) of the run `spec`, whose validated strategy is `strategy`.
/// Empty when the report fits.
std::vector<std::string> FitAdvice(const RunSpec& spec, const Strategy& strategy, const Report& report,
                                   int max_simulations = kMaxFitSimulations);

}  // namespace proteus
