// End-to-end simulation speed (ARCHITECTURE.md performance targets):
//   GPT-3 175B, 1,024 GPUs (128 DGX-H100 nodes), TP 8 x PP 8 x DP 16, mbs 1, gbs 1536 (96
//   micro-batches per pipeline), distributed optimizer: target under 0.5 s per simulated iteration
//   on one core; also with sequence parallelism and every overlap on (tp communication pipelined
//   in tp chunks: more tasks).
// Each benchmark runs the whole pipeline (load, validate, compile, HTAE, report), and the HTAE part
// alone on a precompiled graph.
#include <benchmark/benchmark.h>

#include "common/log.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/engine/engine.h"

namespace proteus {
namespace {

SimulationRequest Gpt3Request(int nodes, int dp) {
  SimulationRequest r;
  r.spec.model = "gpt3-175b";
  r.spec.cluster = nodes == 128 ? "dgx-h100-128" : "dgx-h100-" + std::to_string(nodes);
  r.spec.flags.tp = 8;
  r.spec.flags.pp = 8;
  r.spec.flags.dp = dp;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 1536;
  r.spec.flags.zero = 1;
  return r;
}

SimulationRequest Gpt3OverlapRequest() {
  SimulationRequest r = Gpt3Request(128, 16);
  r.spec.flags.sp = true;
  r.spec.flags.tp_comm_overlap = true;
  r.spec.flags.overlap_param_gather = true;
  r.spec.flags.overlap_p2p = "on";
  return r;
}

void BM_Gpt3_175B_1024Gpus_EndToEnd(benchmark::State& state) {
  SetLogLevel(LogLevel::kQuiet);
  for (auto _ : state) {
    SimulationOutput out = RunSimulation(Gpt3Request(128, 16));
    benchmark::DoNotOptimize(out.graph.tasks.data());
    state.counters["tasks"] = static_cast<double>(out.graph.tasks.size());
    state.counters["iteration_s"] = out.report.iteration_time_s;
  }
}
BENCHMARK(BM_Gpt3_175B_1024Gpus_EndToEnd)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Gpt3_175B_1024Gpus_AllOverlaps_EndToEnd(benchmark::State& state) {
  SetLogLevel(LogLevel::kQuiet);
  for (auto _ : state) {
    SimulationOutput out = RunSimulation(Gpt3OverlapRequest());
    benchmark::DoNotOptimize(out.graph.tasks.data());
    state.counters["tasks"] = static_cast<double>(out.graph.tasks.size());
    state.counters["iteration_s"] = out.report.iteration_time_s;
  }
}
BENCHMARK(BM_Gpt3_175B_1024Gpus_AllOverlaps_EndToEnd)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Gpt3_175B_1024Gpus_EngineOnly(benchmark::State& state) {
  SetLogLevel(LogLevel::kQuiet);
  SimulationOutput out = RunSimulation(Gpt3Request(128, 16));
  for (auto _ : state) {
    SimResult r = Simulate(out.graph);
    benchmark::DoNotOptimize(r.task_end_s.data());
  }
  state.counters["tasks"] = static_cast<double>(out.graph.tasks.size());
}
BENCHMARK(BM_Gpt3_175B_1024Gpus_EngineOnly)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Gpt3_175B_16384Gpus_EndToEnd(benchmark::State& state) {
  SetLogLevel(LogLevel::kQuiet);
  for (auto _ : state) {
    SimulationOutput out = RunSimulation(Gpt3Request(2048, 256));
    benchmark::DoNotOptimize(out.graph.tasks.data());
    state.counters["tasks"] = static_cast<double>(out.graph.tasks.size());
  }
}
BENCHMARK(BM_Gpt3_175B_16384Gpus_EndToEnd)->Unit(benchmark::kMillisecond)->Iterations(1);

// Simulation cost against the GPU count (issue: cost that grows with what differs, not with the
// number of GPUs): the same 6 micro-batches per pipeline at every size, so the simulated graph is
// the same 20k tasks; only the groups grow.
SimulationRequest Gpt3SixMicrobatches(int nodes, int tp, int pp) {
  SimulationRequest r;
  r.spec.model = "gpt3-175b";
  r.spec.cluster = "dgx-h100-" + std::to_string(nodes);
  r.spec.flags.tp = tp;
  r.spec.flags.pp = pp;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 6 * (nodes * 8 / (tp * pp));
  r.spec.flags.zero = 1;
  return r;
}

void RunCase(benchmark::State& state, const SimulationRequest& request) {
  SetLogLevel(LogLevel::kQuiet);
  for (auto _ : state) {
    SimulationOutput out = RunSimulation(request);
    benchmark::DoNotOptimize(out.graph.tasks.data());
    state.counters["tasks"] = static_cast<double>(out.graph.tasks.size());
    state.counters["iteration_s"] = out.report.iteration_time_s;
  }
}

void BM_Gpt3_175B_Tp8Pp8_6Mb(benchmark::State& state) {
  RunCase(state, Gpt3SixMicrobatches(static_cast<int>(state.range(0)) / 8, 8, 8));
}
BENCHMARK(BM_Gpt3_175B_Tp8Pp8_6Mb)->ArgName("gpus")->Arg(1024)->Arg(16384)->Arg(131072)
    ->Unit(benchmark::kMillisecond)->Iterations(1);

// Below TP 8 several data-parallel rings share each node's NICs and PCIe switches.
void BM_Gpt3_175B_Tp4Pp4_6Mb(benchmark::State& state) {
  RunCase(state, Gpt3SixMicrobatches(static_cast<int>(state.range(0)) / 8, 4, 4));
}
BENCHMARK(BM_Gpt3_175B_Tp4Pp4_6Mb)->ArgName("gpus")->Arg(640)->Arg(5120)->Unit(benchmark::kMillisecond)->Iterations(1);

// The same with --orbit-mirrors: every replica loads its own links, and the ring hops fold.
void BM_Gpt3_175B_Tp4Pp4_6Mb_OrbitMirrors(benchmark::State& state) {
  SimulationRequest r = Gpt3SixMicrobatches(static_cast<int>(state.range(0)) / 8, 4, 4);
  r.spec.orbit_mirrors = true;
  RunCase(state, r);
}
BENCHMARK(BM_Gpt3_175B_Tp4Pp4_6Mb_OrbitMirrors)->ArgName("gpus")->Arg(640)->Arg(5120)
    ->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_Gpt3_175B_Tp8Pp8_6Mb_OrbitMirrors(benchmark::State& state) {
  SimulationRequest r = Gpt3SixMicrobatches(static_cast<int>(state.range(0)) / 8, 8, 8);
  r.spec.orbit_mirrors = true;
  RunCase(state, r);
}
BENCHMARK(BM_Gpt3_175B_Tp8Pp8_6Mb_OrbitMirrors)->ArgName("gpus")->Arg(1024)->Arg(16384)->Arg(131072)
    ->Unit(benchmark::kMillisecond)->Iterations(1);

// Llama 3.1 405B as Meta trained it on 16,384 H100 (TP 8, PP 16; CP 2 does not exist yet):
// global batch 2,048 sequences of 8,192 tokens, 16 micro-batches per pipeline.
void BM_Llama31_405B_16384Gpus(benchmark::State& state) {
  SimulationRequest r;
  r.spec.model = "llama3.1-405b";
  r.spec.cluster = "dgx-h100-2048";
  r.spec.flags.tp = 8;
  r.spec.flags.pp = 16;
  r.spec.flags.mbs = 1;
  r.spec.flags.gbs = 2048;
  r.spec.flags.zero = 1;
  RunCase(state, r);
}
BENCHMARK(BM_Llama31_405B_16384Gpus)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace proteus
