// HTAE on a synthetic graph the size of GPT-3 175B on 1,024 GPUs with symmetry (TP 8, PP 8, DP 16:
// one simulated GPU per pipeline stage, 12 layers each, 1F1B over 200 micro-batches): about 520k
// tasks and 118k comms with 8-flow NVLink rings, built directly (no compiler). In the last
// micro-batch's backward, each layer's gradients are all-reduced over DP through the node's NIC,
// sharing it with the pipeline's sends: the solver's congested path runs too. Target: < 0.5 s.
//
//   cmake --build <build> --target engine_bench && <build>/tests/bench/engine_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "simulator/compile/exec_graph.h"
#include "simulator/engine/engine.h"

namespace proteus {
namespace {

struct PipelineShape {
  int stages = 8;            // simulated GPUs, one per node
  int layers = 12;           // per stage
  int microbatches = 200;
  int tp = 8;                // ring of 8 GPUs inside each node
};

constexpr double kNvLinkBw = 450e9 / 2;  // bytes/s per direction and GPU port (H100 NVLink 4, ~450 GB/s total)
constexpr double kNicBw = 50e9;          // 400 Gb/s NIC
constexpr double kCommBytes = 48e6;      // per-rank buffer of a TP collective (seq 2048 x hidden 12288 x bf16)

class PipelineBuilder {
 public:
  explicit PipelineBuilder(PipelineShape shape) : s_(shape) {
    // Links: per node, tp GPU->NVSwitch and tp NVSwitch->GPU ports, then one NIC (send side) per stage.
    g_.link_capacity.assign(static_cast<size_t>(s_.stages) * 2 * s_.tp, kNvLinkBw);
    nic_base_ = static_cast<LinkId>(g_.link_capacity.size());
    for (int i = 0; i < s_.stages; ++i) g_.link_capacity.push_back(kNicBw);
    for (int i = 0; i < s_.stages; ++i) {
      SimGpu gpu;
      gpu.global_id = i * s_.tp;
      gpu.multiplicity = 128;
      gpu.memory_capacity = 80LL << 30;
      gpu.label = "pp" + std::to_string(i) + "/tp0/dp0";
      g_.gpus.push_back(gpu);
    }
    gemm_ = g_.Intern("gemm");
    elementwise_ = g_.Intern("elementwise");
    attention_ = g_.Intern("attention");
    comm_class_ = g_.Intern("comm");
    last_.assign(s_.stages, -1);
  }

  ExecGraph Build() {
    // 1F1B: stage s runs (stages - s - 1) warm-up forwards, then one forward + one backward until all
    // forwards are issued, then the remaining backwards.
    fwd_out_.assign(s_.stages, std::vector<TaskId>(s_.microbatches, -1));
    bwd_out_.assign(s_.stages, std::vector<TaskId>(s_.microbatches, -1));
    std::vector<std::vector<std::pair<bool, int>>> order(s_.stages);
    for (int st = 0; st < s_.stages; ++st) {
      int warm = std::min(s_.stages - st - 1, s_.microbatches), f = 0, b = 0;
      for (; f < warm; ++f) order[st].push_back({true, f});
      while (f < s_.microbatches) {
        order[st].push_back({true, f++});
        order[st].push_back({false, b++});
      }
      while (b < s_.microbatches) order[st].push_back({false, b++});
    }
    // Issue in waves so that every producer exists before its consumer (AddTask needs earlier deps):
    // forwards flow down the stages, backwards up; a step of each stage in schedule order.
    std::vector<size_t> next(s_.stages, 0);
    bool progress = true;
    while (progress) {
      progress = false;
      for (int st = 0; st < s_.stages; ++st) {
        while (next[st] < order[st].size()) {
          auto [fwd, mb] = order[st][next[st]];
          if (fwd && st > 0 && fwd_out_[st - 1][mb] < 0) break;
          if (!fwd && st + 1 < s_.stages && bwd_out_[st + 1][mb] < 0) break;
          if (fwd) Forward(st, mb); else Backward(st, mb);
          ++next[st];
          progress = true;
        }
      }
    }
    return std::move(g_);
  }

 private:
  TaskId Compute(int st, int32_t cls, double dur, std::vector<TaskId> deps, Phase phase, int mb) {
    Task t;
    t.gpu = st;
    t.duration_s = dur;
    t.compute_class = cls;
    t.name = cls;
    t.phase = phase;
    t.microbatch = mb;
    if (last_[st] >= 0) deps.push_back(last_[st]);
    return last_[st] = g_.AddTask(t, deps, {});
  }

  // A TP all-reduce as an 8-GPU ring over the node's NVSwitch: 8 hops of 2 links, each carrying
  // 2(n-1)/n x bytes; only this stage's rank is simulated (its TP peers are symmetric).
  TaskId TpAllReduce(int st, int mb, Phase phase) {
    Comm comm;
    CollectivePlan plan;
    comm.op = CollOp::kAllReduce;
    comm.stream = StreamKind::kTpComm;
    comm.bytes = static_cast<int64_t>(kCommBytes);
    double hop_bytes = 2.0 * (s_.tp - 1) / s_.tp * kCommBytes;
    plan.latency_s = 20e-6;
    plan.time_s = plan.latency_s + hop_bytes / (kNvLinkBw * 0.8);
    for (int i = 0; i < s_.tp; ++i) {
      LinkId up = (st * s_.tp + i) * 2, down = (st * s_.tp + (i + 1) % s_.tp) * 2 + 1;
      plan.flows.push_back(FlowSpec{{up, down}, hop_bytes, kNvLinkBw * 0.8});
    }
    comm.plan = std::make_shared<const CollectivePlan>(std::move(plan));
    return AddComm(std::move(comm), {st}, {last_[st]}, phase, mb);
  }

  // A layer's gradients (1.8 GB of bf16 / TP 8) all-reduced by a ring over 16 DP ranks: this rank
  // sends 2(n-1)/n of them through its NIC, off the critical path of the backward (dp_comm stream).
  void DpAllReduce(int st) {
    Comm comm;
    CollectivePlan plan;
    comm.op = CollOp::kAllReduce;
    comm.stream = StreamKind::kDpComm;
    comm.bytes = static_cast<int64_t>(1.8e9 / s_.tp);
    double bytes = 2.0 * 15 / 16 * static_cast<double>(comm.bytes);
    plan.latency_s = 50e-6;
    plan.time_s = plan.latency_s + bytes / (kNicBw * 0.9);
    plan.flows.push_back(FlowSpec{{nic_base_ + st}, bytes, kNicBw * 0.9});
    comm.plan = std::make_shared<const CollectivePlan>(std::move(plan));
    AddComm(std::move(comm), {st}, {last_[st]}, Phase::kBwdWeight, s_.microbatches - 1);
  }

  TaskId P2p(int from, int to, TaskId produced, int mb, Phase phase) {
    Comm comm;
    CollectivePlan plan;
    comm.op = CollOp::kSendRecv;
    comm.stream = StreamKind::kPpComm;
    comm.bytes = static_cast<int64_t>(kCommBytes / 2);
    plan.latency_s = 10e-6;
    plan.time_s = plan.latency_s + comm.bytes / kNicBw;
    plan.flows.push_back(FlowSpec{{nic_base_ + from}, static_cast<double>(comm.bytes), kNicBw});
    comm.plan = std::make_shared<const CollectivePlan>(std::move(plan));
    TaskId recv = AddComm(std::move(comm), {from, to}, {produced, -1}, phase, mb);
    return recv;
  }

  // Adds the comm's member tasks (one per GPU in `gpus`, each after deps[i] when >= 0); returns
  // the last member.
  TaskId AddComm(Comm comm, std::vector<int> gpus, std::vector<TaskId> deps, Phase phase, int mb) {
    CommId id = static_cast<CommId>(g_.comms.size());
    g_.comms.push_back(std::move(comm));
    TaskId last = -1;
    for (size_t i = 0; i < gpus.size(); ++i) {
      Task t;
      t.kind = g_.comms[id].op == CollOp::kSendRecv ? TaskKind::kP2P : TaskKind::kCollective;
      t.stream = g_.comms[id].stream;
      t.gpu = gpus[i];
      t.comm = id;
      t.name = comm_class_;
      t.compute_class = comm_class_;
      t.phase = phase;
      t.microbatch = mb;
      std::vector<TaskId> d;
      if (deps[i] >= 0) d.push_back(deps[i]);
      last = g_.AddTask(t, d, {});
      g_.comms[id].members.push_back(last);
    }
    return last;
  }

  void Forward(int st, int mb) {
    if (st > 0) last_[st] = std::max(last_[st], fwd_out_[st - 1][mb]);
    for (int l = 0; l < s_.layers; ++l) {
      Compute(st, elementwise_, 20e-6, {}, Phase::kFwd, mb);
      Compute(st, gemm_, 300e-6, {}, Phase::kFwd, mb);
      Compute(st, attention_, 250e-6, {}, Phase::kFwd, mb);
      Compute(st, gemm_, 100e-6, {}, Phase::kFwd, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kFwd));
      Compute(st, elementwise_, 20e-6, {}, Phase::kFwd, mb);
      Compute(st, gemm_, 400e-6, {}, Phase::kFwd, mb);
      Compute(st, elementwise_, 30e-6, {}, Phase::kFwd, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kFwd));
      Compute(st, gemm_, 400e-6, {}, Phase::kFwd, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kFwd));
    }
    fwd_out_[st][mb] = st + 1 < s_.stages ? P2p(st, st + 1, last_[st], mb, Phase::kFwd) : last_[st];
  }

  void Backward(int st, int mb) {
    if (st + 1 < s_.stages) last_[st] = std::max(last_[st], bwd_out_[st + 1][mb]);
    for (int l = 0; l < s_.layers; ++l) {
      for (int k = 0; k < 4; ++k) Compute(st, gemm_, 200e-6, {}, Phase::kBwdData, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kBwdData));
      for (int k = 0; k < 4; ++k) Compute(st, gemm_, 200e-6, {}, Phase::kBwdWeight, mb);
      Compute(st, attention_, 500e-6, {}, Phase::kBwdData, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kBwdData));
      for (int k = 0; k < 4; ++k) Compute(st, elementwise_, 30e-6, {}, Phase::kBwdData, mb);
      last_[st] = std::max(last_[st], TpAllReduce(st, mb, Phase::kBwdData));
      if (mb == s_.microbatches - 1) DpAllReduce(st);
    }
    bwd_out_[st][mb] = st > 0 ? P2p(st, st - 1, last_[st], mb, Phase::kBwdData) : last_[st];
  }

  PipelineShape s_;
  ExecGraph g_;
  LinkId nic_base_ = 0;
  int32_t gemm_ = 0, elementwise_ = 0, attention_ = 0, comm_class_ = 0;
  std::vector<TaskId> last_;  // per stage: the task the next compute task waits for
  std::vector<std::vector<TaskId>> fwd_out_, bwd_out_;
};

const ExecGraph& Gpt3Graph() {
  static const ExecGraph graph = PipelineBuilder(PipelineShape{}).Build();
  return graph;
}

void BM_HtaeGpt3Pipeline(benchmark::State& state) {
  const ExecGraph& g = Gpt3Graph();
  SimResult r;
  for (auto _ : state) {
    r = Simulate(g);
    benchmark::DoNotOptimize(r.task_end_s.data());
  }
  state.counters["tasks"] = static_cast<double>(g.tasks.size());
  state.counters["comms"] = static_cast<double>(g.comms.size());
  state.counters["events"] = static_cast<double>(r.counters.events);
  state.counters["flows"] = static_cast<double>(r.counters.flows);
  state.counters["makespan_s"] = r.makespan_s;
}
BENCHMARK(BM_HtaeGpt3Pipeline)->Unit(benchmark::kMillisecond);

struct BenchInterference {
  OverlapFactors Factors(std::string_view compute_class, CollOp) const {
    return compute_class == "gemm" ? OverlapFactors{1.1, 1.3} : OverlapFactors{1.05, 1.1};
  }
};

void BM_HtaeGpt3PipelineInterference(benchmark::State& state) {
  const ExecGraph& g = Gpt3Graph();
  BenchInterference model;
  EngineOptions options;
  options.interference = InterferenceFrom(model);
  SimResult r;
  for (auto _ : state) {
    r = Simulate(g, options);
    benchmark::DoNotOptimize(r.task_end_s.data());
  }
  state.counters["makespan_s"] = r.makespan_s;
  state.counters["updates"] = static_cast<double>(r.counters.interference_updates);
}
BENCHMARK(BM_HtaeGpt3PipelineInterference)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace proteus
