// Symmetric flows folded into weighted representatives, exactly.
//
// A graph compiled with symmetry still routes every collective over its whole group: a data-parallel
// ring over 2,048 nodes is 2,048 hops per channel, though by symmetry most hops see the same
// contention and run at the same rate. The engine's cost (solver variables, events) would grow with
// the GPU count while the simulated graph does not.
//
// Folding finds the flows and links that cannot be told apart and gives the solver one variable per
// class of flows and one constraint per class of links:
//   - colour refinement (1-dimensional Weisfeiler-Leman) on the bipartite graph of flows and the
//     links they use: flows start coloured by (plan, bytes, cap), links by capacity; a link's next
//     colour is its colour and the multiset of its flows' colours, a flow's is its colour and the
//     multiset of its links' colours; repeated until no class splits. The result is an equitable
//     partition: every link of class A is used the same number of times, k(A, F), by flows of class
//     F, and every flow of F uses links of A the same number of times.
//   - progressive filling (maxmin.h) depends only on these counts: at every step every link of A has
//     the same level and every flow of F is fixed at the same rate. So the weighted problem
//         sum over F of k(A, F) * r_F <= C_A   for every link class A
//     has the same max-min rates as the original, flow for flow. Flows of one class also carry the
//     same bytes, start together (one comm) and end together.
// Classes never mix plans, so every comm sharing a plan shares its folded flows; two comms with one
// plan active at once are two copies of the same counts, which stays equitable.
// Nothing is assumed about the topology: where no two flows are alike, each flow is its own class,
// with weight 1 on its own links, and the solver sees the original problem.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/maxmin.h"

namespace proteus {

struct FoldedFlow {
  std::vector<int32_t> route;    // link classes, in the order the first flow of the class meets them
  std::vector<double> weights;   // per route entry: k(A, F), uses of one link of A by the class's flows
  double bytes = 0;              // of each flow of the class
  double max_rate = kUnbounded;  // cap of each flow of the class (kUnbounded where the plan gives none)
  int32_t flows = 1;             // real flows it stands for
};

struct FlowFolding {
  std::vector<double> capacity;                    // per link class (every link of a class has it)
  std::vector<int32_t> class_size;                 // per link class: links it stands for
  std::vector<int32_t> plan_of_comm;               // per comm: index into `plans`
  std::vector<std::vector<FoldedFlow>> plans;      // per distinct plan: its flow classes
  int64_t flows_in = 0, links_in = 0;              // flows with bytes and the links they use
  int64_t flows_out = 0;                           // flow classes, over all distinct plans
  int32_t rounds = 0;                              // refinement rounds run
  bool folded = false;                             // false: refinement gave up, every flow its own class
};

/// Folds the flows of every distinct plan of `g` (comms sharing a plan pointer share it). Flows
/// without bytes carry nothing and are left out. Deterministic: same graph, same folding.
/// `fold` false: every flow and every link its own class (the problem as the plans give it).
FlowFolding FoldFlows(const ExecGraph& g, bool fold = true);

}  // namespace proteus
