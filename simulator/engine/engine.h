// HTAE, the discrete-event executor: runs an execution graph (compile/exec_graph.h) in simulated
// time and returns the timeline, memory peaks and time breakdown (sim_result.h).
//
// Model.
//  - Streams. Each simulated GPU has in-order streams (compute, tp_comm, dp_comm, pp_comm, copy). A
//    task is ready when the previous task of its stream and all its dependencies have finished.
//  - Compute and memcpy tasks run for duration_s alone.
//  - Rendezvous. A collective/p2p task belongs to a Comm; the Comm starts when its last member task
//    is ready, and all its member tasks start and end together (a member that is ready early blocks
//    its stream, as a NCCL kernel does).
//  - A started Comm waits plan.latency_s, then runs its flows: each carries bytes over its route of
//    links at its max-min fair rate (maxmin.h), capped by its max_rate. Rates are re-solved whenever a
//    flow starts or ends (only the flows that share links with the change: see maxmin.h). The Comm
//    ends when its last flow ends. A Comm without flows ends at start + max(latency_s, time_s).
//  - Interference. While a compute task overlaps an active Comm (from rendezvous to end) on the
//    same GPU, with factors f = Factors(compute_class, comm op):
//        the compute task progresses at 1 / f.compute_slowdown of its speed alone,
//        the Comm's flows are capped at max_rate / f.comm_slowdown.
//    With several overlaps the largest factor applies. A collective runs in lock step over its
//    members, so the cap of a Comm is the largest comm_slowdown over all its member GPUs, and it
//    applies to all its flows. Rates are recomputed whenever the overlap state of a GPU changes.
//  - Memory: memory_ledger.h. Busy/exposed time: stream_clock.h.
//  - Time advances from event to event ordered by (time, sequence number): identical inputs give
//    bit-identical results. If no event is left while tasks are unfinished, the graph deadlocks (a
//    compiler bug): InternalError names a stuck task, its GPU and stream, and what it waits for.
//
// Example: GPU 0 runs compute A (2 ms) then all-reduce R (latency 10 us, one flow of 100 MB at up to
// 100 GB/s on a link of 200 GB/s); GPU 1 runs compute B (3 ms) then its member of R. R starts at
// 3 ms (the last member), its flow starts at 3.01 ms at 100 GB/s and ends 1 ms later: makespan
// 4.01 ms. Both member tasks run [3, 4.01) ms; on GPU 0 that is 1.01 ms of exposed tp_comm time
// (compute idle), and GPU 0 idles [2, 3) ms waiting for GPU 1.
#pragma once

#include <functional>
#include <string_view>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"
#include "topo/collective.h"

namespace proteus {

/// Slowdown factors (>= 1) when a compute task and a communication overlap on one GPU.
struct OverlapFactors {
  double compute_slowdown = 1;
  double comm_slowdown = 1;
};

/// Factors for a compute class ("gemm", "attention", ...) co-running with a collective `op`.
/// Must be deterministic; called from the simulating thread only.
using InterferenceFn = std::function<OverlapFactors(std::string_view compute_class, CollOp op)>;

/// Adapts any model with `Factors(std::string_view, CollOp)` returning an object with
/// compute_slowdown and comm_slowdown (cost/interference.h InterferenceModel). `model` must outlive
/// the simulation.
template <typename Model>
InterferenceFn InterferenceFrom(const Model& model) {
  return [&model](std::string_view compute_class, CollOp op) {
    auto f = model.Factors(compute_class, op);
    return OverlapFactors{f.compute_slowdown, f.comm_slowdown};
  };
}

struct EngineOptions {
  InterferenceFn interference;  // empty: no interference (both factors 1)
  bool fold_flows = true;       // solve symmetric flows as weighted classes (flow_folding.h; exact)
};

/// Checks the structure HTAE relies on: ids in range, every task once in its GPU's stream, comm
/// membership consistent both ways, durations and latencies finite and >= 0, flow routes over links
/// with a positive capacity. Throws InternalError naming the first violation (a compiler bug).
void ValidateExecGraph(const ExecGraph& graph);

/// Runs `graph` to completion (validating it first). Throws InternalError for a malformed graph or a deadlock; an OOM is
/// a verdict in the result. Thread-safe: simulations of different graphs may run in parallel.
SimResult Simulate(const ExecGraph& graph, const EngineOptions& options = {});

}  // namespace proteus
