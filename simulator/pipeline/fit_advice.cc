#include "simulator/pipeline/fit_advice.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "common/error.h"
#include "common/units.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

std::string Gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / kGiB);
  return buf;
}

// The most loaded GPU's peak and capacity ("peak 71.2 GiB of 79.6 GiB").
std::string PeakText(const Report& r) {
  const GpuReport* top = nullptr;
  for (const auto& g : r.per_gpu)
    if (!top || g.peak_memory > top->peak_memory) top = &g;
  if (!top) return "";
  return "peak " + Gib(top->peak_memory) + " of " + Gib(top->memory_capacity) + ", iteration " +
         FormatSeconds(r.iteration_time_s);
}

// Static memory of the most loaded GPU at its peak: what no batch or recompute change removes.
std::string StaticText(const Report& r) {
  const GpuReport* top = nullptr;
  int64_t top_static = -1;
  for (const auto& g : r.per_gpu) {
    int64_t s = g.memory_at_peak[static_cast<int>(MemCategory::kWeights)] +
                g.memory_at_peak[static_cast<int>(MemCategory::kGradients)] +
                g.memory_at_peak[static_cast<int>(MemCategory::kOptimizer)] + g.memory_reserve;
    if (s > top_static) top_static = s, top = &g;
  }
  if (!top) return "";
  return "weights, gradients, optimizer states and reserve alone take " + Gib(top_static) + " of " +
         Gib(top->memory_capacity) + " on " + top->label;
}

// The highest ZeRO stage --zero accepts (3: sharded weights, DeepSpeed ZeRO-3).
constexpr int kMaxAdvisedZeroStage = 3;

class Search {
 public:
  Search(const RunSpec& spec, const Strategy& s, int budget) : base_(spec), budget_(budget) {
    // Pin what the flags left to defaults, so that a change keeps the rest of the run as it was.
    base_.flags.tp = s.AxisSize("tp");
    base_.flags.pp = s.PipelineRanks();
    base_.flags.dp = s.DataParallel();
    base_.flags.mbs = static_cast<int>(s.micro_batch);
    base_.flags.gbs = static_cast<int>(s.global_batch);
  }

  // Simulates `change` applied to the run; the report when it is valid and fits.
  bool Fits(const std::function<void(StrategyFlags&)>& change, std::string& peak) {
    if (budget_ <= 0) return false;
    --budget_;
    RunSpec spec = base_;
    change(spec.flags);
    try {
      PreparedSimulation sim(spec);
      const Report& r = sim.Run();
      peak = PeakText(r);
      return !r.oom;
    } catch (const UserError&) {
      return false;  // not a valid strategy (divisibility, layers per stage): not advice
    }
  }

  const StrategyFlags& flags() const { return base_.flags; }
  int budget() const { return budget_; }

 private:
  RunSpec base_;
  int budget_;
};

void AdviseMicroBatch(Search& search, std::vector<std::string>& advice) {
  const StrategyFlags& f = search.flags();
  for (int mbs = f.mbs - 1; mbs >= 1 && search.budget() > 0; --mbs) {
    if (f.gbs % (int64_t{mbs} * f.dp) != 0) continue;  // the batch must split into whole micro-batches
    std::string peak;
    if (search.Fits([mbs](StrategyFlags& g) { g.mbs = mbs; }, peak)) {
      advice.push_back("--mbs " + std::to_string(mbs) + " (" + peak + ")");
      return;
    }
  }
}

void AdviseRecompute(Search& search, std::vector<std::string>& advice) {
  const std::string& now = search.flags().recompute;
  std::vector<std::string> modes;
  if (now == "none") modes = {"selective", "full"};
  if (now == "selective") modes = {"full"};
  for (const auto& mode : modes) {
    std::string peak;
    if (search.Fits([mode](StrategyFlags& g) { g.recompute = mode; }, peak)) {
      advice.push_back("--recompute " + mode + " (" + peak + ")");
      return;
    }
  }
}

void AdviseZero(Search& search, std::vector<std::string>& advice) {
  const StrategyFlags& f = search.flags();
  // Nothing to shard over, no higher stage, or FSDP (already everything sharded).
  if (f.dp < 2 || f.zero >= kMaxAdvisedZeroStage || f.fsdp) return;
  int stage = f.zero + 1;
  std::string peak;
  if (search.Fits([stage](StrategyFlags& g) { g.zero = stage; }, peak))
    advice.push_back("--zero " + std::to_string(stage) + " (" + peak + ")");
}

void AdvisePipeline(Search& search, std::vector<std::string>& advice) {
  const StrategyFlags& f = search.flags();
  if (f.dp % 2 != 0 || !f.pp_layers.empty()) return;  // keep the GPU count; a given split stays
  std::string peak;
  if (search.Fits([](StrategyFlags& g) { g.pp *= 2, g.dp /= 2; }, peak))
    advice.push_back("--pp " + std::to_string(f.pp * 2) + " --dp " + std::to_string(f.dp / 2) + " (" + peak + ")");
}

void AdviseAllTogether(Search& search, std::vector<std::string>& advice) {
  const StrategyFlags& f = search.flags();
  bool halve_dp = f.dp % 2 == 0 && f.pp_layers.empty();
  int dp = halve_dp ? f.dp / 2 : f.dp;
  int zero = dp >= 2 && !f.fsdp ? std::max(f.zero, kMaxAdvisedZeroStage) : f.zero;
  std::string peak;
  auto all = [&](StrategyFlags& g) {
    g.mbs = 1;
    g.recompute = "full";
    g.zero = zero;
    if (halve_dp) g.pp *= 2, g.dp = dp;
  };
  if (!search.Fits(all, peak)) return;
  std::string text = "--mbs 1 --recompute full --zero " + std::to_string(zero);
  if (halve_dp) text += " --pp " + std::to_string(f.pp * 2) + " --dp " + std::to_string(dp);
  advice.push_back(text + " together (" + peak + ")");
}

std::vector<std::string> AdviceInWords(const Strategy& s, const Report& r) {
  std::vector<std::string> advice = {
      "(not simulated: the strategy is a file) try a smaller micro_batch (now " + std::to_string(s.micro_batch) +
          "), \"recompute\": \"selective\" or \"full\" on the blocks, \"layouts\": {\"optimizer\": \"sharded:dp\"}"
          " (ZeRO-1), or more pipeline stages",
      StaticText(r)};
  return advice;
}

}  // namespace

std::vector<std::string> FitAdvice(const RunSpec& spec, const Strategy& strategy, const Report& report,
                                   int max_simulations) {
  if (!report.oom) return {};
  if (!spec.strategy_file.empty()) return AdviceInWords(strategy, report);
  Search search(spec, strategy, max_simulations);
  std::vector<std::string> advice;
  AdviseMicroBatch(search, advice);
  AdviseRecompute(search, advice);
  AdviseZero(search, advice);
  AdvisePipeline(search, advice);
  if (advice.empty()) AdviseAllTogether(search, advice);
  if (advice.empty()) {
    std::string tried = search.budget() > 0 ? "nothing tried fits" : "nothing fits within " +
                                                                          std::to_string(max_simulations) +
                                                                          " simulations";
    advice.push_back(tried + " (smaller micro-batch, recompute, ZeRO, more pipeline stages): " +
                     StaticText(report) + "; more GPUs are needed (a larger --pp, or --dp with --zero)");
  }
  return advice;
}

}  // namespace proteus
