// Strategy search speed (the strategy-search issue's target: 1,000 candidate evaluations per second
// on 2 cores for a 5,120-GPU GPT-3 175B search).
//   BM_FastEstimate*: the fast estimate (search/fast_estimate.h) of every candidate of a wide
//     space, profiles included (cold: a fresh estimator per iteration), on 2 threads;
//     candidates_per_s counts candidates over the whole wall time.
//   BM_SearchGpt3*: the whole search of a small space (fast estimate, two-simulation estimate of
//     the best, full simulation of the best): candidates_per_s counts candidates fast-estimated.
#include <benchmark/benchmark.h>

#include <chrono>

#include "common/log.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/fast_estimate.h"
#include "simulator/search/parallel_for.h"
#include "simulator/search/search.h"

namespace proteus {
namespace {

RunSpec Gpt3(int nodes) {
  RunSpec base;
  base.model = "gpt3-175b";
  base.cluster = "dgx-a100-" + std::to_string(nodes);
  return base;
}

// The default space (tp 1..8, pp 1..64, mbs 1..8, every recompute, ZeRO 0/1) with 1F1B and
// interleaved:2 schedules.
void FastEstimateGpt3(benchmark::State& state, int nodes, int64_t global_batch) {
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec base = Gpt3(nodes);
  const Model model = LoadModelFor(base);
  const Cluster cluster = LoadClusterFor(base);
  SearchSpace space;
  space.global_batch = global_batch;
  space.schedules = {"1f1b", "interleaved:2"};
  const CandidateSet set = EnumerateCandidates(model, cluster, space);
  const int64_t n = static_cast<int64_t>(set.candidates.size());
  int64_t candidates = 0, profiles = 0;
  double sum = 0, prepare_s = 0, estimate_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    FastEstimator fast(base, model, cluster);
    fast.Prepare(set.candidates, 2);
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<double> t(set.candidates.size());
    ParallelFor(n, 2, [&](int64_t i) { t[i] = fast.Estimate(set.candidates[i]).iteration_s; });
    const auto t2 = std::chrono::steady_clock::now();
    prepare_s += std::chrono::duration<double>(t1 - t0).count();
    estimate_s += std::chrono::duration<double>(t2 - t1).count();
    for (double x : t) sum += x;
    candidates += n;
    profiles += fast.profiles_priced();
  }
  benchmark::DoNotOptimize(sum);
  state.counters["candidates"] = static_cast<double>(n);
  state.counters["candidates_per_s"] = benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kIsRate);
  const double iterations = static_cast<double>(state.iterations());
  state.counters["profiles"] = static_cast<double>(profiles) / iterations;
  state.counters["profiles_s"] = prepare_s / iterations;      // pricing the profiles (wall)
  state.counters["replays_s"] = estimate_s / iterations;      // every candidate's replay (wall)
}

void BM_FastEstimateGpt3_175B_5120Gpus(benchmark::State& state) { FastEstimateGpt3(state, 640, 2560); }
BENCHMARK(BM_FastEstimateGpt3_175B_5120Gpus)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void SearchGpt3(benchmark::State& state, int nodes, int64_t global_batch) {
  SetLogLevel(LogLevel::kQuiet);
  const RunSpec base = Gpt3(nodes);
  SearchSpace space;
  space.global_batch = global_batch;
  space.tp = {8};
  space.pp = {8, 16};
  space.mbs = {1, 2};
  space.recompute = {"full"};
  space.zero = {1};
  SearchOptions options;
  options.top = 1;
  options.threads = 2;
  int64_t candidates = 0, simulations = 0;
  for (auto _ : state) {
    SearchResult r = RunSearch(base, space, options);
    candidates += r.fast_estimated;
    simulations += r.simulations;
  }
  state.counters["candidates_per_s"] = benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kIsRate);
  state.counters["simulations"] = static_cast<double>(simulations) / static_cast<double>(state.iterations());
}

void BM_SearchGpt3_175B_1024Gpus(benchmark::State& state) { SearchGpt3(state, 128, 1536); }
BENCHMARK(BM_SearchGpt3_175B_1024Gpus)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_SearchGpt3_175B_5120Gpus(benchmark::State& state) { SearchGpt3(state, 640, 2560); }  // dp 80 or 40: a batch both divide
BENCHMARK(BM_SearchGpt3_175B_5120Gpus)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace proteus
