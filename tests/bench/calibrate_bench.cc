// Calibration speed: 20 small GPT runs on 1, 2 and 4 DGX-A100 nodes (varied size, tp and dp),
// "measured" times synthesised from a known calibration, fitting gemm_ceiling, kernel_overhead_us and
// coll_bw_eff_inter with leave-one-out cross-validation on 2 threads. Setup (synthesising the
// measurements) is outside the timed loop.
#include <benchmark/benchmark.h>

#include <cmath>

#include "common/log.h"
#include "simulator/calibrate/calibrate.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

Calibration Truth() {
  Calibration c;
  c.gpu = "A100-SXM4-80GB";
  c.params["gemm_ceiling"].value = 0.72;
  c.params["kernel_overhead_us"].value = 5;
  c.params["coll_bw_eff_inter"].value = 0.75;
  return c;
}

RunSet SyntheticRuns() {
  const int hidden[] = {512, 1024, 1536, 2048, 2560};
  const int nodes[] = {1, 2, 4};
  const int tps[] = {1, 2, 4, 8};
  RunSet set;
  for (int i = 0; i < 20; ++i) {
    MeasuredRun run;
    run.name = "run" + std::to_string(i);
    run.origin = "calibrate_bench";
    int h = hidden[i % 5], n = nodes[i % 3], tp = tps[(i / 3) % 4];
    run.spec.model_doc = {{"format", "proteus.model/1"},
                          {"zoo", "megatron-1.7b"},
                          {"overrides", {{"name", run.name}, {"num_layers", 2 + i % 3}, {"hidden", h},
                                         {"num_heads", h / 64}, {"seq_len", 512 << (i % 3)}}}};
    run.spec.model_origin = "calibrate_bench";
    run.spec.cluster = "dgx-a100-" + std::to_string(n);
    run.spec.flags.tp = tp;
    int dp = 8 * n / tp;
    run.spec.flags.mbs = 1;
    run.spec.flags.gbs = dp * (1 + i % 4);
    SimulationRequest req;
    req.spec = run.spec;
    req.calibration_override = Truth();
    run.measured.values["iteration_time_s"] = RunSimulation(req).report.iteration_time_s;
    set.runs.push_back(run);
  }
  return set;
}

void BM_Calibrate_20Runs_3Params(benchmark::State& state) {
  SetLogLevel(LogLevel::kQuiet);
  RunSet runs = SyntheticRuns();
  CalibrateOptions o;
  o.gpu = "A100-SXM4-80GB";
  o.params = {"gemm_ceiling", "kernel_overhead_us", "coll_bw_eff_inter"};
  o.threads = 2;
  o.progress = false;
  o.date = "2026-12-01";
  for (auto _ : state) {
    CalibrationOutcome out = Calibrate(runs, o);
    benchmark::DoNotOptimize(out.calibration.params.size());
    state.counters["evaluations"] = out.evaluations;
    state.counters["cv_err"] = out.mean_abs_cv;
    state.counters["gemm_ceiling"] = out.calibration.params["gemm_ceiling"].value;
    state.counters["kernel_us"] = out.calibration.params["kernel_overhead_us"].value;
    state.counters["bw_inter"] = out.calibration.params["coll_bw_eff_inter"].value;
  }
}
BENCHMARK(BM_Calibrate_20Runs_3Params)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace proteus
