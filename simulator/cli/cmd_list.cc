// proteus-sim list models|clusters|gpus: what can be named on a command line, with the numbers
// that tell entries apart (parameters, GPU counts, memory).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ostream>

#include "common/data_dir.h"
#include "common/units.h"
#include "simulator/cli/app.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/model/model_file.h"
#include "simulator/model/zoo.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

void ListModels(std::ostream& out) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-18s %10s %7s %7s %7s %7s %8s\n", "zoo model", "params", "layers", "hidden", "seq",
                "image", "experts");
  out << buf;
  // A vision model has no hidden width or sequence; a transformer no image size: "-".
  auto num = [](int64_t v) { return v > 0 ? std::to_string(v) : std::string("-"); };
  for (const auto& name : ZooModelNames()) {
    Model m = BuildZooModel(name);
    std::snprintf(buf, sizeof buf, "%-18s %9.2fB %7lld %7s %7s %7s %8s\n", name.c_str(), m.Params() / 1e9,
                  static_cast<long long>(m.num_layers), num(m.hidden).c_str(), num(m.seq_len).c_str(),
                  num(m.image_size).c_str(), num(m.num_experts).c_str());
    out << buf;
  }
  out << "\nmodel files in data/models (--model NAME): " << ListDataNames("models", ".json")
      << "\nAlso: any proteus.model/1 file or Hugging Face config.json path.\n";
}

void ListClusters(std::ostream& out) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-22s %6s %6s  %s\n", "cluster", "nodes", "GPUs", "GPU types");
  out << buf;
  for (const auto& name : DataNames("clusters", ".json")) {
    Cluster c = LoadCluster(*ResolveDataFile("clusters", name, ".json"));
    std::string types;
    for (const auto& g : c.groups) types += (types.empty() ? "" : " + ") + std::to_string(g.count) + " x " + g.gpu_type;
    std::snprintf(buf, sizeof buf, "%-22s %6d %6d  %s\n", name.c_str(), c.NumNodes(), c.NumGpus(), types.c_str());
    out << buf;
  }
  out << "\nAlso: <family>-<N> for N nodes of a shipped family (dgx-h100-64), or a proteus.cluster/1 file path.\n";
}

void ListGpus(std::ostream& out) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-18s %9s %10s %12s %5s\n", "GPU", "memory", "HBM", "bf16 dense", "SMs");
  out << buf;
  for (const auto& name : DataNames("gpus", ".json")) {
    GpuSpec g = LoadGpuSpec(name);
    std::snprintf(buf, sizeof buf, "%-18s %5.0f GiB %6.2f TB/s %7.0f TFLOP/s %5d\n", name.c_str(),
                  static_cast<double>(g.memory_bytes) / static_cast<double>(kGiB), g.mem_bw / 1e12,
                  g.PeakFlops(DType::kBf16) / 1e12, g.sm_count);
    out << buf;
  }
}

}  // namespace

void AddListCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("list", "List the shipped models, clusters or GPUs: what --model, --cluster and --gpu take");
  auto what = std::make_shared<std::string>();
  cmd->add_option("what", *what, "models, clusters or gpus")->required()->check(CLI::IsMember({"models", "clusters", "gpus"}));
  cmd->callback([&out, what] {
    if (*what == "models") ListModels(out);
    else if (*what == "clusters") ListClusters(out);
    else ListGpus(out);
  });
}

}  // namespace proteus
