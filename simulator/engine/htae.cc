#include "simulator/engine/htae.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {

Htae::Htae(const ExecGraph& graph, const EngineOptions& options)
    : g_(graph),
      options_(options),
      folding_(FoldFlows(graph, options.fold_flows)),
      solver_(folding_.capacity),
      ledger_(graph),
      clock_(static_cast<int>(graph.gpus.size())) {
  const size_t n = g_.tasks.size();
  state_.assign(n, TaskState::kWaiting);
  task_version_.assign(n, 0);
  comms_.resize(g_.comms.size());
  overlap_.resize(g_.gpus.size());
  result_.task_start_s.assign(n, 0);
  result_.task_end_s.assign(n, 0);
  result_.comm_start_s.assign(g_.comms.size(), 0);
  PROTEUS_CHECK(g_.gpus.size() <= UINT16_MAX, "too many simulated GPUs");
  hot_.resize(n);
  for (size_t t = 0; t < n; ++t) {
    const Task& task = g_.tasks[t];
    HotTask& hot = hot_[t];
    hot = HotTask{task.duration_s, task.comm, static_cast<uint16_t>(task.gpu), task.stream,
                  task.kind == TaskKind::kCompute, false, false};
    for (int32_t i = task.mem_begin; i < task.mem_begin + task.mem_count; ++i) {
      if (g_.mem_effects[i].at_end) hot.mem_at_end = true;
      else hot.mem_at_start = true;
    }
  }
  BuildSuccessors();
  if (interference()) BuildCommGpus();
  events_.Reserve(1024);
}

// Successor lists in CSR form; the stream predecessor counts as one more dependency, so "ready"
// is simply "pending reached 0".
void Htae::BuildSuccessors() {
  const size_t n = g_.tasks.size();
  pending_.assign(n, 0);
  std::vector<int32_t> count(n + 1, 0);
  for (size_t t = 0; t < n; ++t) {
    const Task& task = g_.tasks[t];
    pending_[t] = task.dep_count;
    for (int32_t i = task.dep_begin; i < task.dep_begin + task.dep_count; ++i) ++count[g_.deps[i]];
  }
  // Each in-order stream's consecutive tasks (a stream ordered by dependencies alone adds none).
  auto for_each_stream_edge = [&](auto&& edge) {
    for (const SimGpu& gpu : g_.gpus)
      for (int s = 0; s < kNumStreams; ++s) {
        if (!InOrder(static_cast<StreamKind>(s))) continue;
        const auto& stream = gpu.streams[s];
        for (size_t i = 1; i < stream.size(); ++i) edge(stream[i - 1], stream[i]);
      }
  };
  for_each_stream_edge([&](TaskId before, TaskId after) {
    ++count[before];
    ++pending_[after];
  });
  succ_begin_.assign(n + 1, 0);
  for (size_t t = 0; t < n; ++t) succ_begin_[t + 1] = succ_begin_[t] + count[t];
  succ_.resize(succ_begin_[n]);
  std::vector<int32_t> fill(succ_begin_.begin(), succ_begin_.end() - 1);
  for (size_t t = 0; t < n; ++t) {
    const Task& task = g_.tasks[t];
    for (int32_t i = task.dep_begin; i < task.dep_begin + task.dep_count; ++i) {
      succ_[fill[g_.deps[i]]++] = static_cast<TaskId>(t);
    }
  }
  for_each_stream_edge([&](TaskId before, TaskId after) { succ_[fill[before]++] = after; });
}

SimResult Htae::Run() {
  for (size_t t = 0; t < g_.tasks.size(); ++t) {
    if (pending_[t] == 0) MakeReady(static_cast<TaskId>(t));
  }
  while (true) {
    // Rates matter only once time moves: every change at this instant is solved at once.
    if (solver_.Dirty() && (events_.Empty() || events_.Top().time > now_)) SyncRates();
    if (events_.Empty()) break;
    Dispatch(events_.Pop());
  }
  if (tasks_done_ < static_cast<int64_t>(g_.tasks.size())) ReportDeadlock();
  return Collect();
}

void Htae::Dispatch(const Event& e) {
  bool current = true;
  switch (e.kind) {
    case EventKind::kTaskEnd: current = e.version == task_version_[e.id]; break;
    case EventKind::kCommLocalEnd: current = e.version == comms_[e.id].version; break;
    case EventKind::kFlowEnd: current = e.version == flows_[e.id].version; break;
    case EventKind::kCommLatencyEnd: break;
  }
  if (!current) {
    ++result_.counters.stale_events;
    return;
  }
  ++result_.counters.events;
  now_ = e.time;
  switch (e.kind) {
    case EventKind::kTaskEnd:
      if (interference() && hot_[e.id].is_compute) OverlapComputeEnd(e.id);
      CompleteTask(e.id);
      ReleaseSuccessors(e.id);
      break;
    case EventKind::kCommLatencyEnd: StartFlows(e.id); break;
    case EventKind::kCommLocalEnd: EndComm(e.id); break;
    case EventKind::kFlowEnd: OnFlowEnd(e.id); break;
  }
}

void Htae::MakeReady(TaskId t) {
  state_[t] = TaskState::kReady;
  const CommId c = hot_[t].comm;
  if (c < 0) {
    StartLocalTask(t);
    return;
  }
  if (++comms_[c].ready == static_cast<int32_t>(g_.comms[c].members.size())) StartComm(c);
}

void Htae::StartLocalTask(TaskId t) {
  BeginTask(t);
  if (interference() && hot_[t].is_compute) {
    OverlapComputeStart(t);
  } else {
    events_.Push(now_ + hot_[t].duration_s, EventKind::kTaskEnd, t, task_version_[t]);
  }
}

void Htae::BeginTask(TaskId t) {
  const HotTask& task = hot_[t];
  state_[t] = TaskState::kRunning;
  result_.task_start_s[t] = now_;
  clock_.Begin(task.gpu, task.stream, now_);
  if (task.mem_at_start) ledger_.Apply(t, /*at_end=*/false, now_);
}

void Htae::CompleteTask(TaskId t) {
  const HotTask& task = hot_[t];
  state_[t] = TaskState::kDone;
  result_.task_end_s[t] = now_;
  clock_.End(task.gpu, task.stream, now_);
  if (task.mem_at_end) ledger_.Apply(t, /*at_end=*/true, now_);
  ++tasks_done_;
}

void Htae::ReleaseSuccessors(TaskId t) {
  for (int32_t i = succ_begin_[t]; i < succ_begin_[t + 1]; ++i) {
    TaskId s = succ_[i];
    if (--pending_[s] == 0) MakeReady(s);
  }
}

SimResult Htae::Collect() {
  SimResult& r = result_;
  for (double end : r.task_end_s) r.makespan_s = std::max(r.makespan_s, end);
  clock_.Finish(r.makespan_s, &r.times);
  for (size_t t = 0; t < hot_.size(); ++t) {
    const HotTask& task = hot_[t];
    GpuTimes& times = r.times[task.gpu];
    if (task.is_compute) times.compute_work_s += task.duration_s;
    times.last_end_s = std::max(times.last_end_s, r.task_end_s[t]);
  }
  r.memory = ledger_.Result();
  for (const GpuMemory& m : r.memory) r.any_oom = r.any_oom || m.oom;
  r.counters.tasks = static_cast<int64_t>(g_.tasks.size());
  r.counters.comms = static_cast<int64_t>(g_.comms.size());
  r.counters.solves = solver_.stats().solves;
  r.counters.solver_vars = solver_.stats().vars_solved;
  return std::move(result_);
}

}  // namespace proteus
