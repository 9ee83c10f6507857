// Strategy search speed (the strategy-search issue's target: 1,000 candidate evaluations per second
// on 2 cores for a 5,120-GPU GPT-3 175B search). Reports candidates estimated per second of wall
// time and the event simulations behind them; a candidate costs two short event simulations.
#include <benchmark/benchmark.h>

#include "common/log.h"
#include "simulator/search/search.h"

namespace proteus {
namespace {

void SearchGpt3(benchmark::State& state, int nodes, int64_t global_batch) {
  SetLogLevel(LogLevel::kQuiet);
  RunSpec base;
  base.model = "gpt3-175b";
  base.cluster = "dgx-a100-" + std::to_string(nodes);
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
    candidates += r.estimated;
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
