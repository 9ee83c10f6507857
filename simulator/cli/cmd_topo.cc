// proteus-sim topo CLUSTER: the node graph, GPU-pair path types and the GPU -> NIC mapping.
#include <CLI/CLI.hpp>
#include <memory>
#include <ostream>

#include "common/json_text.h"
#include "simulator/cli/app.h"
#include "topo/cluster.h"
#include "topo/topo_report.h"

namespace proteus {

void AddTopoCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("topo", "Show a cluster's node topology: link graph, GPU-pair path types, GPU-NIC map");
  auto cluster = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("cluster", *cluster, "Cluster file or shipped name (data/clusters), or <topology>-<nodes>")->required();
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([&out, cluster, json] {
    Cluster c = LoadCluster(*cluster);
    if (*json) out << JsonText(TopologyJson(c)) << "\n";
    else out << FormatTopology(c);
  });
}

}  // namespace proteus
