// proteus-sim metis: Metis' heterogeneous plan space (SamsungLabs/Metis) searched by branch and
// bound over Metis' own inputs and cost model (simulator/search/metis_search.h, docs/search.md).
#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <ostream>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"
#include "common/json_text.h"
#include "simulator/cli/app.h"
#include "simulator/search/metis_search.h"

namespace proteus {
namespace {

struct MetisArgs {
  std::string profiles, hostfile, clusterfile;
  int gbs = 0, max_bs = 4;
  MetisModelShape shape;
  MetisSearchOptions options;
  bool json = false;
};

std::string Describe(const MetisPlan& p) {
  std::ostringstream os;
  os << "order";
  for (const auto& t : p.type_order) os << " " << t;
  os << "; " << p.batches << " micro-batches; stages (gpus: dp x tp, layers):";
  for (const auto& s : p.stages) os << " [" << s.gpus << ": " << s.dp << "x" << s.tp << ", " << s.layers << "]";
  return os.str();
}

Json PlanToJson(const MetisPlan& p) {
  Json stages = Json::array();
  for (const auto& s : p.stages) stages.push_back({{"gpus", s.gpus}, {"dp", s.dp}, {"tp", s.tp}, {"layers", s.layers}});
  return {{"type_order", p.type_order}, {"batches", p.batches}, {"stages", stages}};
}

void Run(const MetisArgs& a, std::ostream& out) {
  MetisProfiles profiles = ReadMetisProfiles(a.profiles);
  MetisCluster cluster = ReadMetisCluster(a.hostfile, a.clusterfile);
  for (const auto& type : cluster.Types())
    if (!profiles.by_type.count(type))
      throw UserError(a.clusterfile, "instance_type '" + type + "' has no DeviceType." + type + "_tp*_bs*.json in " + a.profiles);
  MetisCostModel model(profiles, cluster, a.shape, a.gbs, a.max_bs);
  auto start = std::chrono::steady_clock::now();
  MetisSearchResult r = SearchMetisPlans(model, a.options);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (a.json) {
    out << JsonText({{"format", "proteus.metis_search/1"},
                     {"best", r.best ? PlanToJson(*r.best) : Json(nullptr)},
                     {"best_cost_ms", r.best ? Json(r.best_cost_ms) : Json(nullptr)},
                     {"steps", r.steps},
                     {"partial_plans", r.partial_plans},
                     {"cut_by_bound", r.cut_by_bound},
                     {"cut_by_memory", r.cut_by_memory},
                     {"exhaustive", a.options.exhaustive},
                     {"search_ms", ms}})
        << "\n";
    return;
  }
  out << "Metis plan search: " << cluster.TotalGpus() << " GPUs, " << profiles.num_layers << " layers, global batch "
      << a.gbs << (a.options.exhaustive ? " (exhaustive)" : "") << "\n";
  out << "  " << r.steps << " steps (complete plans priced), " << r.partial_plans << " stages fixed, " << r.cut_by_bound
      << " subtrees cut by the bound, " << r.cut_by_memory << " by memory or a missing profile; " << ms << " ms\n";
  if (!r.best) {
    out << "  no plan fits\n";
    return;
  }
  out << "  best by Metis' cost model: " << r.best_cost_ms << " ms\n  " << Describe(*r.best) << "\n";
}

}  // namespace

void AddMetisCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("metis", "Search Metis' heterogeneous plans (device groups, per-stage dp x tp, layer "
                                          "split, micro-batches) on Metis' inputs, priced by Metis' cost model");
  auto a = std::make_shared<MetisArgs>();
  cmd->add_option("--profiles", a->profiles, "Directory of Metis profiles DeviceType.<TYPE>_tp<T>_bs<B>.json")->required();
  cmd->add_option("--hostfile", a->hostfile, "Metis hostfile: one '<ip> slots=<gpus>' line per node")->required();
  cmd->add_option("--clusterfile", a->clusterfile, "Metis clusterfile JSON: ip -> instance_type, bandwidths, memory")
      ->required();
  cmd->add_option("--gbs", a->gbs, "Global batch size")->required()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-tp", a->options.max_tp, "Largest tensor-parallel degree (Metis' MAX_PROFILED_TP, default 4)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-bs", a->max_bs, "Largest profiled micro-batch (Metis' MAX_PROFILED_BATCH_SIZE, default 4)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--variance", a->options.variance, "Metis' SCALE_VARIANCE: smallest group over GPUs / stages (default 1)")
      ->check(CLI::Range(0.0, 64.0));
  cmd->add_option("--hidden", a->shape.hidden, "Hidden size (default 4096)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--seq-len", a->shape.seq, "Sequence length (default 1024)")->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--vocab", a->shape.vocab, "Vocabulary (default 51200)")->check(CLI::Range(1, 1 << 24));
  cmd->add_flag("--exhaustive", a->options.exhaustive, "Price every plan of the space (no cost bound; for checking)");
  cmd->add_flag("--json", a->json, "Print the result as JSON (proteus.metis_search/1)");
  cmd->callback([&out, a] { Run(*a, out); });
}

}  // namespace proteus
