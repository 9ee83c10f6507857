#include "simulator/search/search.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

struct Sample {
  double iteration_s = 0, mfu = 0, tokens_per_s = 0;
  int64_t peak_memory = 0;
  bool oom = false;
};

// One event simulation of `flags` at `microbatches` per pipeline (gbs = m x mbs x dp).
Sample Simulate(const RunSpec& base, StrategyFlags flags, int64_t microbatches) {
  SimulationRequest request;
  request.spec = base;
  flags.gbs = static_cast<int>(microbatches * flags.mbs * flags.dp);
  request.spec.flags = flags;
  SimulationOutput out = RunSimulation(request);
  const Report& r = out.report;
  return {r.iteration_time_s, r.mfu, r.tokens_per_s, r.PeakMemory(), r.oom};
}

int64_t MicrobatchesOf(const StrategyFlags& f) { return f.gbs / (static_cast<int64_t>(f.mbs) * f.dp); }

// The estimate of the model in search.h: two shorter runs extrapolated, or the run itself.
struct Estimate {
  Sample sample;
  int simulations = 0;
  bool exact = false;  // the run itself was simulated
};

Estimate EstimateOf(const RunSpec& base, const StrategyFlags& f) {
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

// Runs fn(i) for i in [0, n) on `threads` threads; the first UserError or other exception is
// rethrown after all threads stop.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn fn) {
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

int ThreadCount(const SearchOptions& o) {
  if (o.threads > 0) return o.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

SearchResult RunSearch(const RunSpec& base, const SearchSpace& space, const SearchOptions& options) {
  if (options.top <= 0) throw UserError("--top", "must be at least 1");
  if (options.budget < 0) throw UserError("--budget", "must be a positive number of candidates");
  if (options.verify < 0) throw UserError("--verify", "must be at least 1");
  const Model model = LoadModelFor(base);
  const Cluster cluster = LoadClusterFor(base);
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
  std::mutex progress_mutex;
  std::atomic<int64_t> done{0};
  auto report_progress = [&](const std::string& pass, int64_t total) {
    int64_t d = ++done;
    if (!options.progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    options.progress(pass, d, total);
  };

  // Pass 1: estimates. A candidate the pipeline rejects (a rule the static checks do not know)
  // is dropped under the pipeline's own message.
  std::vector<std::optional<Estimate>> estimates(cands.size());
  std::vector<std::string> rejected(cands.size());
  const int64_t n = static_cast<int64_t>(cands.size());
  ParallelFor(n, threads, [&](int64_t i) {
    try {
      estimates[i] = EstimateOf(base, cands[i]);
    } catch (const UserError& e) {
      rejected[i] = e.what();
    }
    report_progress("estimate", n);
  });
  out.estimated = n;
  std::vector<int64_t> fitting;
  for (int64_t i = 0; i < n; ++i) {
    if (!estimates[i]) {
      ++out.pruned["rejected: " + rejected[i]];
      continue;
    }
    out.simulations += estimates[i]->simulations;
    if (estimates[i]->sample.oom) ++out.pruned["out of memory (simulated)"];
    else fitting.push_back(i);
  }
  if (fitting.empty()) throw UserError("search", "no candidate fits in memory (" + std::to_string(n) + " simulated)");
  // Ties keep enumeration order: the ranking does not depend on the sort's stability.
  std::stable_sort(fitting.begin(), fitting.end(), [&](int64_t a, int64_t b) {
    return estimates[a]->sample.iteration_s < estimates[b]->sample.iteration_s;
  });

  // Pass 2: the best estimates simulated with their real micro-batch count.
  const int64_t verify = std::min<int64_t>(fitting.size(), options.verify > 0 ? options.verify : options.top);
  std::vector<Sample> full(verify);
  done = 0;
  ParallelFor(verify, threads, [&](int64_t k) {
    const Estimate& e = *estimates[fitting[k]];
    full[k] = e.exact ? e.sample : Simulate(base, cands[fitting[k]], MicrobatchesOf(cands[fitting[k]]));
    report_progress("verify", verify);
  });
  for (int64_t k = 0; k < verify; ++k) {
    const Estimate& e = *estimates[fitting[k]];
    if (!e.exact) ++out.simulations;
    if (full[k].oom) {
      ++out.pruned["out of memory at the full micro-batch count"];
      continue;
    }
    SearchEntry entry;
    entry.flags = cands[fitting[k]];
    entry.iteration_time_s = full[k].iteration_s;
    entry.estimate_s = e.sample.iteration_s;
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
