// One simulation from a RunSpec: load model, cluster, databases and strategy; validate; compile;
// price; run HTAE; build the report. Shared by `simulate`, `validate`, `calibrate` and the tests.
//
// Pricing is a separate step after compilation: the graph is compiled with the uncalibrated cost
// model, every compute task remembers the op key it was priced from, and Price() sets durations and
// collective plans from the databases' measured entries and calibration (or a trial calibration).
// So `calibrate` compiles each run once (PreparedSimulation) and re-prices it per trial parameter
// set, and `simulate` follows the very same path.
//
// Every task is priced as the GPU it runs on: on a cluster mixing GPU types, each type with its own
// spec, database layers and calibration (pipeline/gpu_pricing.h), each distinct (op key, GPU type)
// once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/costdb.h"
#include "common/op_key.h"
#include "simulator/pipeline/run_spec.h"
#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"
#include "simulator/model/module.h"
#include "simulator/report/report.h"
#include "simulator/strategy/strategy.h"
#include "topo/cluster.h"

namespace proteus {

struct SimulationOutput {
  Report report;
  ExecGraph graph;
  SimResult result;
  std::vector<OpKey> unmeasured;   // operators estimated without a measurement (manifest)
  std::string gpu_type;             // the job's GPU type, or "A100-SXM4-80GB + V100-SXM2-32GB" when mixed
  const Calibration* calibration = nullptr;  // the one applied to the first GPU type, or null
  std::shared_ptr<const CostDb> database;    // the layered databases used (null: none)
  std::string explain;             // the expanded strategy tree (filled when asked)
};

struct SimulationRequest {
  RunSpec spec;
  bool explain_only = false;       // stop after expanding and validating the strategy
  /// When the run is out of memory, fill Report::fit_advice (pipeline/fit_advice.h; simulates
  /// a few changed strategies).
  bool fit_advice = false;
  /// Cost-model parameters to use instead of any calibration in the databases (calibrate's trial
  /// values); it applies to the job's GPUs of its `gpu` type.
  std::optional<Calibration> calibration_override;
};

/// The model and the cluster a spec names, loaded as RunSimulation loads them (the model in the
/// spec's --dtype). UserError naming the flag or file on bad input.
Model LoadModelFor(const RunSpec& spec);
Cluster LoadClusterFor(const RunSpec& spec);
/// --pp-layers as given ("30,34,32"); UserError naming --pp-layers unless positive counts.
std::vector<int> ParseLayerList(const std::string& text);

/// Runs the whole pipeline. UserError on bad input (naming file/flag and field).
SimulationOutput RunSimulation(const SimulationRequest& request);

/// A run loaded, validated and compiled once, to be priced and simulated many times (calibrate).
/// Not thread-safe; different PreparedSimulations may run in parallel threads.
class PreparedSimulation {
 public:
  /// UserError on bad input, as RunSimulation.
  explicit PreparedSimulation(const RunSpec& spec);
  /// The same with the model and cluster already loaded (LoadModelFor / LoadClusterFor of `spec`,
  /// or a variant of them): a caller running many simulations of one job loads them once.
  /// spec.model and spec.cluster then only name them in the report.
  PreparedSimulation(const RunSpec& spec, Model model, Cluster cluster);
  ~PreparedSimulation();
  PreparedSimulation(PreparedSimulation&&) noexcept;
  /// Prices the graph with `calibration` (null: the databases' own calibration for each GPU type,
  /// if any; otherwise it applies to the GPUs of its type), runs HTAE and builds the report. The graph and result stay inside (graph(), result()).
  const Report& Run(const Calibration* calibration = nullptr);
  /// The job's GPU type; on a mixed job the types joined ("A100-SXM4-80GB + V100-SXM2-32GB").
  const std::string& gpu_type() const;
  const Strategy& strategy() const;  // expanded and validated
  const ExecGraph& graph() const;
  const SimResult& result() const;
  /// After Run: the calibration applied to the first GPU type (rank 0's; collectives and overlap
  /// follow it too; null: none), the keys estimated without a measurement (every type's).
  const Calibration* calibration() const;
  std::vector<OpKey> Unmeasured() const;
  std::shared_ptr<const CostDb> database() const;
  /// Moves the graph and result out (the simulation cannot Run again afterwards).
  ExecGraph TakeGraph();
  SimResult TakeResult();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace proteus
