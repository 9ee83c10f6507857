// One simulation from a RunSpec: load model, cluster, databases and strategy; validate; compile;
// run HTAE; build the report. Shared by `simulate`, `validate` and the end-to-end tests.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/op_key.h"
#include "simulator/cli/run_spec.h"
#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"
#include "simulator/report/report.h"

namespace proteus {

struct SimulationOutput {
  Report report;
  ExecGraph graph;
  SimResult result;
  std::vector<OpKey> unmeasured;   // operators estimated without a measurement (manifest)
  std::string gpu_type;
  std::string explain;             // the expanded strategy tree (filled when asked)
};

struct SimulationRequest {
  RunSpec spec;
  bool explain_only = false;       // stop after expanding and validating the strategy
};

/// Runs the whole pipeline. UserError on bad input (naming file/flag and field).
SimulationOutput RunSimulation(const SimulationRequest& request);

}  // namespace proteus
