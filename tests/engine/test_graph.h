// Small execution graphs built by hand for the engine tests.
#pragma once

#include <string>
#include <vector>

#include "simulator/compile/exec_graph.h"

namespace proteus::testing {

inline FlowSpec Flow(std::vector<LinkId> links, double bytes, double max_rate) {
  FlowSpec f;
  f.links = std::move(links);
  f.bytes = bytes;
  f.max_rate = max_rate;
  return f;
}

class TestGraph {
 public:
  /// `gpus` simulated GPUs labelled g0, g1, ...; one link per entry of `link_capacity` (bytes/s).
  explicit TestGraph(int gpus, std::vector<double> link_capacity = {}) {
    for (int i = 0; i < gpus; ++i) {
      SimGpu gpu;
      gpu.global_id = i;
      gpu.label = "g" + std::to_string(i);
      graph.gpus.push_back(gpu);
    }
    graph.link_capacity = std::move(link_capacity);
    graph.total_gpus = gpus;
  }

  TaskId Compute(int gpu, double duration_s, std::vector<TaskId> deps = {}, std::string name = "",
                 StreamKind stream = StreamKind::kCompute, std::vector<MemEffect> mem = {},
                 std::string compute_class = "gemm") {
    Task t;
    t.kind = stream == StreamKind::kCopy ? TaskKind::kMemcpy : TaskKind::kCompute;
    t.stream = stream;
    t.gpu = gpu;
    t.duration_s = duration_s;
    t.name = graph.Intern(name.empty() ? "task" + std::to_string(graph.tasks.size()) : name);
    t.compute_class = graph.Intern(compute_class);
    return graph.AddTask(t, deps, mem);
  }

  /// A comm with one member task per entry of `gpus` (in that order), each depending on the matching
  /// entry of `deps` (if given). Returns the CommId; members are graph.comms[id].members.
  CommId AddComm(CollOp op, StreamKind stream, std::vector<int> gpus, double latency_s, double time_s,
                 std::vector<FlowSpec> flows, std::vector<std::vector<TaskId>> deps = {},
                 std::string name = "") {
    CommId id = static_cast<CommId>(graph.comms.size());
    Comm comm;
    comm.op = op;
    comm.stream = stream;
    CollectivePlan plan;
    plan.latency_s = latency_s;
    plan.time_s = time_s;
    plan.flows = std::move(flows);
    comm.plan = std::make_shared<const CollectivePlan>(std::move(plan));
    graph.comms.push_back(comm);
    for (size_t i = 0; i < gpus.size(); ++i) {
      Task t;
      t.kind = op == CollOp::kSendRecv ? TaskKind::kP2P : TaskKind::kCollective;
      t.stream = stream;
      t.gpu = gpus[i];
      t.comm = id;
      t.name = graph.Intern((name.empty() ? "comm" + std::to_string(id) : name) + "@g" + std::to_string(gpus[i]));
      t.compute_class = graph.Intern("comm");
      graph.comms[id].members.push_back(graph.AddTask(t, i < deps.size() ? deps[i] : std::vector<TaskId>{}, {}));
    }
    return id;
  }

  TaskId Member(CommId c, int i) const { return graph.comms[c].members[i]; }

  ExecGraph graph;
};

}  // namespace proteus::testing
