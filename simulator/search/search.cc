#include "simulator/search/search.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "common/error.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/search/fast_estimate.h"
#include "simulator/search/layer_balance.h"
#include "simulator/search/parallel_for.h"
#include "simulator/strategy/shorthand.h"

namespace proteus {
namespace {

struct Sample {
  double iteration_s = 0, mfu = 0, tokens_per_s = 0;
  int64_t peak_memory = 0;
  bool oom = false;
};

// The job every candidate trains: its spec and the model and cluster loaded once.
struct Job {
  const RunSpec& base;
  const Model& model;
  const Cluster& cluster;
};

// One event simulation of `flags` at `microbatches` per pipeline (gbs = m x mbs x dp).
Sample Simulate(const Job& job, StrategyFlags flags, int64_t microbatches) {
  RunSpec spec = job.base;
  flags.gbs = static_cast<int>(microbatches * flags.mbs * flags.dp);
  spec.flags = flags;
  PreparedSimulation sim(spec, job.model, job.cluster);
  const Report& r = sim.Run();
  return {r.iteration_time_s, r.mfu, r.tokens_per_s, r.PeakMemory(), r.oom};
}

// Virtual stages per pipeline rank of a candidate's schedule (interleaved:V, the V schedules' 2).
int ChunksPerRank(const StrategyFlags& f) {
  const Schedule s = ParseScheduleFlag(f.schedule, "--schedules");
  return s.chunks >= 1 ? s.chunks : std::max(1, FixedChunks(s.kind));
}

int64_t MicrobatchesOf(const StrategyFlags& f) { return f.gbs / (static_cast<int64_t>(f.mbs) * f.dp); }

// The estimate of the model in search.h: two shorter runs extrapolated, or the run itself.
struct Estimate {
  Sample sample;
  int simulations = 0;
  bool exact = false;  // the run itself was simulated
};

Estimate EstimateOf(const Job& base, const StrategyFlags& f) {
  const int64_t m = MicrobatchesOf(f);
  const int64_t m1 = 2 * static_cast<int64_t>(f.pp), m2 = 3 * static_cast<int64_t>(f.pp);
  // GPipe keeps every micro-batch's activations: a shorter run would understate its memory.
  if (m <= m2 || f.schedule == "gpipe") return {Simulate(base, f, m), 1, true};
  Sample a = Simulate(base, f, m1), b = Simulate(base, f, m2);
  Sample e = b;
  const double per_microbatch = (b.iteration_s - a.iteration_s) / static_cast<double>(m2 - m1);
  e.iteration_s = b.iteration_s + static_cast<double>(m - m2) * per_microbatch;
  // Work grows with m: MFU and throughput scale by (m / m2) x T(m2) / T(m).
  const double scale = static_cast<double>(m) / static_cast<double>(m2) * b.iteration_s / e.iteration_s;
  e.mfu = b.mfu * scale;
  e.tokens_per_s = b.tokens_per_s * scale;
  return {e, 2, false};
}

int ThreadCount(const SearchOptions& o) {
  if (o.threads > 0) return o.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Reports progress per pass (the CLI's bars), under one lock.
class ProgressReporter {
 public:
  explicit ProgressReporter(const SearchOptions& o) : options_(o) {}
  void Start() { done_ = 0; }
  void Advance(const std::string& pass, int64_t total) {
    const int64_t d = ++done_;
    if (!options_.progress) return;
    std::lock_guard<std::mutex> lock(mutex_);
    options_.progress(pass, d, total);
  }

 private:
  const SearchOptions& options_;
  std::mutex mutex_;
  std::atomic<int64_t> done_{0};
};

std::string JoinLayers(const std::vector<int>& split) {
  std::string s;
  for (int l : split) s += (s.empty() ? "" : ",") + std::to_string(l);
  return s;
}

// The layer-balanced variant (layer_balance.h, on the fast estimate) of each candidate with pp > 1,
// one chunk per rank and no split of its own, appended in candidate order when it differs from the
// even split; returns how many. Their keys are the originals', so no profile is new.
int64_t AddBalancedSplits(const FastEstimator& fast, int layers, int threads, std::vector<StrategyFlags>& cands) {
  const int64_t n = static_cast<int64_t>(cands.size());
  std::vector<std::optional<StrategyFlags>> variant(cands.size());
  ParallelFor(n, threads, [&](int64_t i) {
    const StrategyFlags& c = cands[i];
    if (c.pp < 2 || !c.pp_layers.empty()) return;
    const std::optional<std::vector<StageCost>> costs = fast.StageCosts(c);
    if (!costs) return;
    auto time = [&](const std::vector<int>& split) -> std::optional<double> {
      StrategyFlags f = c;
      f.pp_layers = JoinLayers(split);
      const FastEstimate e = fast.Estimate(f);
      if (!e.unpriced.empty() || e.oom) return std::nullopt;
      return e.iteration_s;
    };
    // Bounded by steps: at most one move per layer.
    const std::optional<BalancedSplit> best = BalanceLayers(*costs, layers, time, layers);
    if (!best || best->split == LayersPerStage(layers, static_cast<int>(costs->size()), {})) return;
    variant[i] = c;
    variant[i]->pp_layers = JoinLayers(best->split);
  });
  int64_t added = 0;
  for (auto& v : variant)
    if (v) cands.push_back(std::move(*v)), ++added;
  return added;
}

// Pass 0: the fast estimate of every candidate (and of the layer-balanced variants it adds to
// `cands`); returns those that may fit, fastest first (ties in enumeration order), at most `keep`
// of them, with their fast estimates, then every candidate it could not price (fast estimate 0).
std::vector<std::pair<int64_t, double>> FastPass(const Job& job, const SearchSpace& space,
                                                 std::vector<StrategyFlags>& cands, int64_t keep, int threads,
                                                 ProgressReporter& progress, SearchResult& out) {
  FastEstimator fast(job.base, job.model, job.cluster);
  fast.Prepare(cands, threads);
  out.profiles = fast.profiles_priced();
  out.simulations += out.profiles;
  if (space.balance_layers || fast.gpu_types().size() > 1)
    out.balanced = AddBalancedSplits(fast, static_cast<int>(job.model.num_layers), threads, cands);
  const int64_t n = static_cast<int64_t>(cands.size());
  std::vector<FastEstimate> est(cands.size());
  progress.Start();
  ParallelFor(n, threads, [&](int64_t i) {
    est[i] = fast.Estimate(cands[i]);
    progress.Advance("fast estimate", n);
  });
  out.fast_estimated = n;
  std::vector<std::pair<int64_t, double>> order, unpriced;
  for (int64_t i = 0; i < n; ++i) {
    if (!est[i].unpriced.empty()) {
      if (unpriced.empty()) out.unpriced_example = est[i].unpriced;
      unpriced.emplace_back(i, 0.0);
    } else if (est[i].oom) {
      ++out.pruned["out of memory (fast estimate's lower bound)"];
    } else {
      order.emplace_back(i, est[i].iteration_s);
    }
  }
  out.unpriced = static_cast<int64_t>(unpriced.size());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  if (static_cast<int64_t>(order.size()) > keep) {
    out.pruned["below the best --estimate by the fast estimate"] += static_cast<int64_t>(order.size()) - keep;
    order.resize(keep);
  }
  order.insert(order.end(), unpriced.begin(), unpriced.end());
  return order;
}

// Pass 1 over the candidates `chosen` (index, fast estimate): the two-simulation estimate.
// Returns the positions in `chosen` that fit, fastest first.
std::vector<int64_t> EstimatePass(const Job& job, const std::vector<StrategyFlags>& cands,
                                  const std::vector<std::pair<int64_t, double>>& chosen, int threads,
                                  ProgressReporter& progress, std::vector<std::optional<Estimate>>& estimates,
                                  SearchResult& out) {
  // A candidate the pipeline rejects (a rule the static checks do not know) is dropped under the
  // pipeline's own message.
  const int64_t n = static_cast<int64_t>(chosen.size());
  estimates.assign(chosen.size(), std::nullopt);
  std::vector<std::string> rejected(chosen.size());
  progress.Start();
  ParallelFor(n, threads, [&](int64_t k) {
    try {
      estimates[k] = EstimateOf(job, cands[chosen[k].first]);
    } catch (const UserError& e) {
      rejected[k] = e.what();
    }
    progress.Advance("estimate", n);
  });
  out.estimated = n;
  std::vector<int64_t> fitting;
  for (int64_t k = 0; k < n; ++k) {
    if (!estimates[k]) {
      ++out.pruned["rejected: " + rejected[k]];
      continue;
    }
    out.simulations += estimates[k]->simulations;
    if (estimates[k]->sample.oom) ++out.pruned["out of memory (simulated)"];
    else fitting.push_back(k);
  }
  if (fitting.empty()) {
    // Every candidate refused (the simulation budget, a pipeline rule) is not "out of memory".
    auto first = std::find_if(rejected.begin(), rejected.end(), [](const std::string& r) { return !r.empty(); });
    if (std::all_of(rejected.begin(), rejected.end(), [](const std::string& r) { return !r.empty(); }))
      throw UserError("search", "every candidate was rejected (" + std::to_string(n) + "); the first: " + *first);
    throw UserError("search", "no candidate fits in memory (" + std::to_string(n) + " simulated)");
  }
  // Ties keep fast-estimate order: the ranking does not depend on the sort's stability.
  std::stable_sort(fitting.begin(), fitting.end(), [&](int64_t a, int64_t b) {
    return estimates[a]->sample.iteration_s < estimates[b]->sample.iteration_s;
  });
  return fitting;
}

}  // namespace

SearchResult RunSearch(const RunSpec& base, const SearchSpace& space, const SearchOptions& options) {
  if (options.top <= 0) throw UserError("--top", "must be at least 1");
  if (options.budget < 0) throw UserError("--budget", "must be a positive number of candidates");
  if (options.verify < 0) throw UserError("--verify", "must be at least 1");
  if (options.estimate < 0) throw UserError("--estimate", "must be at least 1");
  const Model model = LoadModelFor(base);
  const Cluster cluster = LoadClusterFor(base);
  const Job job{base, model, cluster};
  CandidateSet set = EnumerateCandidates(model, cluster, space);
  SearchResult out;
  out.considered = set.considered;
  out.pruned = set.pruned;
  std::vector<StrategyFlags>& cands = set.candidates;
  if (options.budget > 0 && static_cast<int64_t>(cands.size()) > options.budget) {
    out.pruned["beyond --budget"] += static_cast<int64_t>(cands.size()) - options.budget;
    cands.resize(options.budget);
  }
  if (cands.empty())
    throw UserError("search", "no candidate survives the static checks (" + std::to_string(out.considered) +
                                  " combinations; see the reasons with --json or widen the space)");
  const int threads = ThreadCount(options);
  ProgressReporter progress(options);
  const int64_t verify_wanted = options.verify > 0 ? options.verify : options.top;
  const int64_t keep = options.estimate > 0 ? options.estimate : 3 * verify_wanted;
  const auto chosen = FastPass(job, space, cands, keep, threads, progress, out);
  if (chosen.empty())
    throw UserError("search", "no candidate fits in memory (the fast estimate's lower bound exceeds the GPU's "
                              "memory for all " + std::to_string(cands.size()) + ")");
  std::vector<std::optional<Estimate>> estimates;
  const std::vector<int64_t> fitting = EstimatePass(job, cands, chosen, threads, progress, estimates, out);

  // Pass 2: the best estimates simulated with their real micro-batch count.
  const int64_t verify = std::min<int64_t>(fitting.size(), verify_wanted);
  std::vector<Sample> full(verify);
  // The full micro-batch count can exceed the simulation budget (--max-tasks) where the estimate's
  // shorter runs did not: such a candidate is pruned under the budget's message, never ranked by
  // its estimate alone.
  std::vector<std::string> refused(verify);
  progress.Start();
  ParallelFor(verify, threads, [&](int64_t k) {
    const Estimate& e = *estimates[fitting[k]];
    const StrategyFlags& f = cands[chosen[fitting[k]].first];
    try {
      full[k] = e.exact ? e.sample : Simulate(job, f, MicrobatchesOf(f));
    } catch (const UserError& err) {
      refused[k] = err.what();
    }
    progress.Advance("verify", verify);
  });
  for (int64_t k = 0; k < verify; ++k) {
    const Estimate& e = *estimates[fitting[k]];
    if (!refused[k].empty()) {
      ++out.pruned["rejected at the full micro-batch count: " + refused[k]];
      continue;
    }
    if (!e.exact) ++out.simulations;
    if (full[k].oom) {
      ++out.pruned["out of memory at the full micro-batch count"];
      continue;
    }
    SearchEntry entry;
    entry.flags = cands[chosen[fitting[k]].first];
    entry.iteration_time_s = full[k].iteration_s;
    entry.estimate_s = e.sample.iteration_s;
    entry.fast_estimate_s = chosen[fitting[k]].second;
    // FastPass puts the candidates it could not price last.
    entry.fast_estimated = fitting[k] < static_cast<int64_t>(chosen.size()) - out.unpriced;
    entry.layers = LayersPerStage(static_cast<int>(model.num_layers), entry.flags.pp * ChunksPerRank(entry.flags),
                                  entry.flags.pp_layers.empty() ? std::vector<int>{} : ParseLayerList(entry.flags.pp_layers));
    entry.mfu = full[k].mfu;
    entry.tokens_per_s = full[k].tokens_per_s;
    entry.peak_memory = full[k].peak_memory;
    entry.verified = true;
    out.ranked.push_back(std::move(entry));
  }
  std::stable_sort(out.ranked.begin(), out.ranked.end(),
                   [](const SearchEntry& a, const SearchEntry& b) { return a.iteration_time_s < b.iteration_time_s; });
  if (static_cast<int64_t>(out.ranked.size()) > options.top) out.ranked.resize(options.top);
  return out;
}

}  // namespace proteus
