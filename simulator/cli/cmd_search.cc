// proteus-sim search: rank the strategies of a search space by predicted iteration time
// (simulator/search/search.h has the method).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <ostream>

#include "common/error.h"
#include "common/json_file.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/units.h"
#include "simulator/cli/app.h"
#include "simulator/search/search.h"

namespace proteus {
namespace {

struct SearchArgs {
  RunSpec spec;
  SearchSpace space;
  SearchOptions options;
  int64_t gbs = 0;
  bool no_sp = false, json = false;
};

Json EntryToJson(const SearchEntry& e) {
  return {{"iteration_time_s", e.iteration_time_s},
          {"estimate_s", e.estimate_s},
          {"fast_estimate_s", e.fast_estimated ? Json(e.fast_estimate_s) : Json(nullptr)},
          {"mfu", e.mfu},
          {"tokens_per_s", e.tokens_per_s},
          {"peak_memory_bytes", e.peak_memory},
          {"pp_layers", e.layers},
          {"flags", FlagsCommandLine(e.flags)}};
}

Json ResultToJson(const SearchArgs& a, const SearchResult& r) {
  Json ranked = Json::array();
  for (const auto& e : r.ranked) ranked.push_back(EntryToJson(e));
  Json pruned = Json::object();
  for (const auto& [why, n] : r.pruned) pruned[why] = n;
  return {{"format", "proteus.search/1"}, {"model", a.spec.model},         {"cluster", a.spec.cluster},
          {"global_batch", a.gbs},        {"considered", r.considered},
          {"fast_estimated", r.fast_estimated}, {"balanced_splits", r.balanced}, {"unpriced", r.unpriced},
          {"profiles", r.profiles}, {"estimated", r.estimated},
          {"simulations", r.simulations}, {"pruned", pruned},              {"ranked", ranked}};
}

void PrintResult(const SearchArgs& a, const SearchResult& r, std::ostream& out) {
  int64_t pruned = 0;
  for (const auto& [why, n] : r.pruned) pruned += n;
  out << "Search: " << a.spec.model << " on " << a.spec.cluster << ", global batch " << a.gbs << "\n"
      << "  " << r.considered << " combinations, " << pruned << " pruned, " << r.fast_estimated
      << " fast-estimated (" << r.profiles << " block profiles), " << r.estimated << " estimated, "
      << r.simulations << " event simulations\n";
  if (r.balanced > 0)
    out << "  " << r.balanced << " of them layer-balanced splits (--pp-layers) the search added\n";
  if (r.unpriced > 0)
    out << "  note: " << r.unpriced << " candidates not priced by the fast estimate (" << r.unpriced_example
        << "), so each was event-simulated\n";
  out << "\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%4s %12s %12s %12s %7s %12s %10s  %s\n", "rank", "iteration", "estimate", "fast", "MFU",
                "tokens/s", "peak mem", "flags (for proteus-sim simulate)");
  out << buf;
  for (size_t i = 0; i < r.ranked.size(); ++i) {
    const SearchEntry& e = r.ranked[i];
    std::snprintf(buf, sizeof buf, "%4zu %12s %12s %12s %6.1f%% %12.0f %6.1f GiB  %s\n", i + 1,
                  FormatSeconds(e.iteration_time_s).c_str(), FormatSeconds(e.estimate_s).c_str(),
                  e.fast_estimated ? FormatSeconds(e.fast_estimate_s).c_str() : "-", 100 * e.mfu,
                  e.tokens_per_s, static_cast<double>(e.peak_memory) / kGiB, FlagsCommandLine(e.flags).c_str());
    out << buf;
  }
  if (r.pruned.empty()) return;
  out << "\nPruned\n";
  for (const auto& [why, n] : r.pruned) {
    std::snprintf(buf, sizeof buf, "  %8lld  %s\n", static_cast<long long>(n), why.c_str());
    out << buf;
  }
}

}  // namespace

void AddSearchCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand(
      "search", "Rank strategies (tp, pp, dp, micro-batch, recompute, ZeRO, schedule) by predicted iteration time");
  auto a = std::make_shared<SearchArgs>();
  cmd->add_option("--model", a->spec.model, "Zoo name, proteus.model/1 file or HF config.json")->required();
  cmd->add_option("--cluster", a->spec.cluster, "Cluster name in data/clusters or proteus.cluster/1 file")->required();
  cmd->add_option("--gbs", a->gbs, "Global batch size every candidate trains (required)")->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--db", a->spec.databases, "Cost database(s), as for simulate (repeatable)");
  cmd->add_option("--dtype", a->spec.dtype, "Compute dtype, as for simulate");
  cmd->add_option("--max-tasks", a->spec.max_tasks,
                  "Simulation budget of every event simulation, as for simulate (default 6000000, ~1 GiB); a "
                  "candidate above it is pruned under that reason")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tp", a->space.tp, "Tensor-parallel degrees to try, e.g. 1,2,4,8 (default: powers of two up to --max-tp)")
      ->delimiter(',');
  cmd->add_option("--pp", a->space.pp, "Pipeline degrees to try (default: powers of two up to the layers)")->delimiter(',');
  cmd->add_option("--mbs", a->space.mbs, "Micro-batch sizes to try (default 1,2,4,8)")->delimiter(',');
  cmd->add_option("--recompute", a->space.recompute, "Recomputation modes to try (default none,selective,full)")
      ->delimiter(',');
  cmd->add_option("--zero", a->space.zero, "ZeRO stages to try (default 0,1)")->delimiter(',');
  cmd->add_option("--schedules", a->space.schedules, "Pipeline schedules to try, e.g. 1f1b,interleaved:2 (default 1f1b)")
      ->delimiter(',');
  cmd->add_option("--max-tp", a->space.max_tp, "Largest tensor-parallel degree (default: the GPUs of one node)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--balance-layers", a->space.balance_layers,
                "Also try each pp > 1 candidate with layers split by each stage's measured speed and memory "
                "(--pp-layers; always on for a cluster mixing GPU types)");
  cmd->add_flag("--no-sp", a->no_sp, "Never use sequence parallelism (default: on whenever tp > 1)");
  cmd->add_flag("--tp-comm-overlap", a->space.base.tp_comm_overlap, "Every candidate with tp > 1: --tp-comm-overlap");
  cmd->add_flag("--overlap-param-gather", a->space.base.overlap_param_gather, "Every candidate: --overlap-param-gather");
  cmd->add_option("--fp8", a->space.base.fp8, "Every candidate: --fp8 e4m3|hybrid");
  cmd->add_option("--main-grads", a->space.base.main_grads, "Every candidate: --main-grads fp32|bf16");
  cmd->add_option("--top", a->options.top, "Plans to list (default 10)");
  cmd->add_option("--verify", a->options.verify, "Best estimates simulated with the full micro-batch count (default: --top)");
  auto* estimate = cmd->add_option(
      "--estimate", a->options.estimate,
      "Best fast estimates given the two-simulation estimate (default: 3 x --verify)");
  cmd->add_option("--budget", a->options.budget, "Most candidates to estimate, in enumeration order (default: all)");
  cmd->add_option("--threads", a->options.threads, "Threads (default: the machine's)")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", a->json, "Print the result as JSON (proteus.search/1)");
  cmd->callback([&out, a, estimate] {
    // 0 would pass nothing on; the search's own 0 means "the default", so refuse it here.
    if (estimate->count() > 0 && a->options.estimate < 1) throw UserError("--estimate", "must be at least 1");
    a->space.global_batch = a->gbs;
    a->space.sp = !a->no_sp;
    // One progress bar per pass; the search calls this under its own lock.
    auto bars = std::make_shared<std::map<std::string, std::unique_ptr<Progress>>>();
    a->options.progress = [bars](const std::string& pass, int64_t done, int64_t total) {
      auto& bar = (*bars)[pass];
      const char* label = pass == "fast estimate" ? "fast-estimated" : pass == "estimate" ? "estimated" : "verified";
      if (!bar) bar = std::make_unique<Progress>(label, total);
      bar->Advance();
    };
    SearchResult r = RunSearch(a->spec, a->space, a->options);
    if (a->json) out << JsonText(ResultToJson(*a, r)) << "\n";
    else PrintResult(*a, r, out);
  });
}

}  // namespace proteus
