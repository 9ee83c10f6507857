// The simulated timeline as a Chrome trace-event JSON file, for chrome://tracing and Perfetto
// (ui.perfetto.dev). Layout:
//   one process per simulated GPU (pid = its index), named "<label> (x<multiplicity>)";
//   one thread per stream (tid = StreamKind), named "compute", "tp_comm", "dp_comm", "pp_comm", "copy";
//   every task is a complete event (ph "X", ts and dur in microseconds with three decimals, from
//     integer nanoseconds: dur = end - start of the rounded instants, so slices on one stream never
//     overlap; a reader rounding to the nanosecond, as Perfetto does, gets them back exactly) with its kind as category
//     and args: phase, micro-batch, cost source, recompute; for comm tasks the op, bytes, algorithm,
//     protocol and the plan's time alone (compare with dur to see contention and interference);
//   a point-to-point comm between two GPUs also gets a flow arrow from sender to receiver;
//   per GPU a counter track "memory (GiB)" with the allocation per MemCategory over time, rebuilt
//     from the static memory and the tasks' memory effects at their start and end times.
//
// Example: a task of 1.5 ms starting at 2 ms on GPU 0's compute stream is
//   {"name":"layers.0.mlp.fc1","cat":"compute","ph":"X","pid":0,"tid":0,"ts":2000.000,"dur":1500.000,...}
#pragma once

#include <string>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/sim_result.h"

namespace proteus {

/// The trace as JSON text. `result` must come from simulating `graph`.
std::string ChromeTraceJson(const ExecGraph& graph, const SimResult& result);

/// Writes ChromeTraceJson to `path` atomically (temp file + rename) and returns its size in bytes.
/// UserError if not writable.
int64_t WriteChromeTrace(const ExecGraph& graph, const SimResult& result, const std::string& path);

}  // namespace proteus
