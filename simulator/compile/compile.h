// Compile: (model, strategy, cluster, costs) -> execution graph (exec_graph.h) + summary.
//
// Stages, in order (see README.md):
//   1. validate and resolve the strategy (strategy/validate.h): every op's partition, stage, recompute;
//   2. build one program per pipeline stage (program.h): local operator shapes priced once,
//      layout conversions, sends, recomputation, gradient buckets;
//   3. choose the simulated ranks: with symmetry, one representative per pipeline rank (tp = dp = 0,
//      multiplicity = GPUs per stage); without, every rank. A pipeline rank whose GPUs mix GPU
//      types (data-parallel replicas on A100 and V100 nodes) turns symmetry off for the job:
//      every rank is simulated and CompileSummary::symmetry_note says why;
//   4. instantiate the blocks of each pipeline rank in its schedule's order (schedule.h), in a global
//      order that respects cross-stage dependencies, then the optimizer tail.
// Collective groups are the ranks differing only in the collective's mesh axis; with symmetry a
// Comm's members are the simulated tasks only, while its plan covers the real group. Plans are
// computed once per distinct (op, group, bytes, dtype).
//
// Worked example: 8 GPUs, tp 2, pp 2, dp 2, 4 micro-batches, 1f1b, symmetry: two simulated GPUs
// (ranks 0 and 4, multiplicity 4 each); rank 0 runs F0 F1 B0 F2 B1 F3 B2 B3 then its optimizer step.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/op_key.h"
#include "simulator/compile/exec_graph.h"
#include "simulator/compile/op_cost.h"
#include "simulator/model/module.h"
#include "simulator/strategy/resolve.h"
#include "simulator/strategy/strategy.h"
#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

struct CompileInputs {
  const Model* model = nullptr;
  const Strategy* strategy = nullptr;
  const Cluster* cluster = nullptr;
  const CollectiveModel* collectives = nullptr;
  const OpCoster* coster = nullptr;
  /// The strategy resolved over the model by ValidateStrategy(model, strategy, cluster), when the
  /// caller has already validated it; null: Compile validates (and resolves) itself.
  const ResolvedModel* resolved = nullptr;
  /// Memory capacity of a GPU (bytes); empty: LoadGpuSpec(cluster.GroupOf(g).gpu_type).memory_bytes.
  std::function<int64_t(GpuId)> gpu_memory;
};

struct CompileOptions {
  bool symmetry = true;  // simulate one rank per symmetry class (false: --no-symmetry)
  /// Under symmetry, which unsimulated groups load the links (--orbit-mirrors; compile.cc
  /// AddMirrorFlows): false, the mirror groups on the simulated group's nodes, and of those only the
  /// flows crossing a link the simulated group uses; true, every mirror group of the orbit, every
  /// flow, so each replica loads its own links as its representative does.
  bool orbit_mirrors = false;
  /// The simulation budget: the most tasks the execution graph may hold (--max-tasks); 0 is the
  /// default budget (TaskBudget). Counted from the per-stage programs before any task is built, so a
  /// run too large for memory is refused (UserError naming --max-tasks, the tasks and the memory
  /// it would take) in milliseconds instead of killed.
  int64_t max_tasks = 0;
};

/// The budget `max_tasks` stands for: itself, or the default when 0 (compile.cc says how it was
/// chosen). UserError("--max-tasks") when negative.
int64_t TaskBudget(int64_t max_tasks);

struct CompileSummary {
  double model_flops = 0;         // per iteration, all GPUs (MFU numerator; no recomputation)
  int64_t samples = 0;            // per iteration (global batch)
  int64_t tokens = 0;             // samples x sequence length
  int64_t microbatches = 0;       // per data-parallel replica
  int simulated_gpus = 0;
  int total_gpus = 0;
  std::array<int64_t, kNumCostSources> task_sources{};  // tasks per cost source (compute and comm)
  std::vector<OpKey> unmeasured;  // op keys estimated without a measurement (--emit-manifest)
  /// Why symmetry was asked for but not used (a pipeline rank mixing GPU types), or "".
  std::string symmetry_note;
};

struct CompileResult {
  ExecGraph graph;
  CompileSummary summary;
};

/// Compiles a job. UserError for an invalid strategy (strategy/validate.h); InternalError for bugs.
CompileResult Compile(const CompileInputs& inputs, const CompileOptions& options = {});

/// --dump-graph: per simulated GPU and stream, the first `max_per_stream` tasks with their
/// duration, dependencies and memory effects, then every Comm's group and plan.
void DumpGraph(const ExecGraph& graph, std::ostream& out, int max_per_stream = 50);

}  // namespace proteus
