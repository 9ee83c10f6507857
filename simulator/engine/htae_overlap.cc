// Interference between compute and communication on one GPU (engine.h has the model). Only used
// when EngineOptions::interference is set; each change of a GPU's overlap state (a compute task or a
// comm starting or ending there) recomputes the rates it affects:
//   compute task t on GPU g: slowdown = max over active comms c on g of F(class_t, op_c).compute
//   comm c:                  slowdown = max over its GPUs h, running compute t on h of F(class_t, op_c).comm
// A compute task's progress is kept as time-alone left; it runs at 1 / slowdown of its speed alone.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "simulator/engine/htae.h"

namespace proteus {

void Htae::BuildCommGpus() {
  comm_gpu_begin_.assign(1, 0);
  comm_gpus_.clear();
  for (const Comm& comm : g_.comms) {
    size_t first = comm_gpus_.size();
    for (TaskId m : comm.members) {
      int32_t gpu = hot_[m].gpu;  // hot_ is filled first: 16 bytes a task to read, not a whole Task
      if (std::find(comm_gpus_.begin() + static_cast<long>(first), comm_gpus_.end(), gpu) == comm_gpus_.end()) {
        comm_gpus_.push_back(gpu);
      }
    }
    comm_gpu_begin_.push_back(static_cast<int32_t>(comm_gpus_.size()));
  }
}

// Few (compute class, op) pairs occur in a run, and they are looked up at every rate refresh: a
// short array searched in order beats hashing.
OverlapFactors Htae::Factors(int32_t compute_class, CollOp op) {
  const int64_t key = static_cast<int64_t>(compute_class) * 8 + static_cast<int64_t>(op);
  for (const auto& [k, f] : factor_cache_)
    if (k == key) return f;
  OverlapFactors f = options_.interference(g_.names[compute_class], op);
  PROTEUS_CHECK(std::isfinite(f.compute_slowdown) && f.compute_slowdown >= 1 && std::isfinite(f.comm_slowdown) &&
                    f.comm_slowdown >= 1,
                "interference factors must be finite and >= 1");
  factor_cache_.emplace_back(key, f);
  return f;
}

double Htae::ComputeSlowdown(int gpu, int32_t compute_class) {
  double slowdown = 1;
  for (CommId c : overlap_[gpu].comms) {
    slowdown = std::max(slowdown, Factors(compute_class, g_.comms[c].op).compute_slowdown);
  }
  return slowdown;
}

double Htae::CommSlowdownOf(CommId c) {
  double slowdown = 1;
  for (int32_t i = comm_gpu_begin_[c]; i < comm_gpu_begin_[c + 1]; ++i) {
    for (const RunningCompute& rc : overlap_[comm_gpus_[i]].compute) {
      slowdown = std::max(slowdown, Factors(rc.compute_class, g_.comms[c].op).comm_slowdown);
    }
  }
  return slowdown;
}

// The compute class is read from the graph once per task, at its start, and kept with it: the
// rates are refreshed far more often than tasks start.
void Htae::OverlapComputeStart(TaskId t) {
  const HotTask& task = hot_[t];
  const int32_t compute_class = g_.tasks[t].compute_class;
  double slowdown = ComputeSlowdown(task.gpu, compute_class);
  overlap_[task.gpu].compute.push_back(RunningCompute{t, compute_class, task.duration_s, slowdown, now_});
  events_.Push(now_ + task.duration_s * slowdown, EventKind::kTaskEnd, t, ++task_version_[t]);
  RefreshCommSlowdowns(task.gpu);
}

void Htae::OverlapComputeEnd(TaskId t) {
  auto& running = overlap_[hot_[t].gpu].compute;
  auto it = std::find_if(running.begin(), running.end(), [t](const RunningCompute& rc) { return rc.task == t; });
  PROTEUS_CHECK(it != running.end(), "a compute task ends that never started");
  running.erase(it);
  RefreshCommSlowdowns(hot_[t].gpu);
}

void Htae::OverlapCommStart(CommId c) {
  for (int32_t i = comm_gpu_begin_[c]; i < comm_gpu_begin_[c + 1]; ++i) {
    overlap_[comm_gpus_[i]].comms.push_back(c);
    RefreshComputeRates(comm_gpus_[i]);
  }
  SetCommSlowdown(c, CommSlowdownOf(c));
}

void Htae::OverlapCommEnd(CommId c) {
  for (int32_t i = comm_gpu_begin_[c]; i < comm_gpu_begin_[c + 1]; ++i) {
    auto& comms = overlap_[comm_gpus_[i]].comms;
    comms.erase(std::find(comms.begin(), comms.end(), c));
    RefreshComputeRates(comm_gpus_[i]);
  }
}

void Htae::RefreshComputeRates(int gpu) {
  for (RunningCompute& rc : overlap_[gpu].compute) {
    double slowdown = ComputeSlowdown(gpu, rc.compute_class);
    if (slowdown == rc.slowdown) continue;
    rc.left_s = std::max(0.0, rc.left_s - (now_ - rc.last_s) / rc.slowdown);
    rc.last_s = now_;
    rc.slowdown = slowdown;
    events_.Push(now_ + rc.left_s * slowdown, EventKind::kTaskEnd, rc.task, ++task_version_[rc.task]);
    ++result_.counters.interference_updates;
  }
}

void Htae::RefreshCommSlowdowns(int gpu) {
  for (CommId c : overlap_[gpu].comms) SetCommSlowdown(c, CommSlowdownOf(c));
}

void Htae::SetCommSlowdown(CommId c, double slowdown) {
  CommState& comm = comms_[c];
  if (slowdown == comm.slowdown) return;
  ++result_.counters.interference_updates;
  if (comm.phase == CommPhase::kFlows) {
    for (int32_t slot = comm.first_flow; slot >= 0; slot = flows_[slot].next) {
      if (flows_[slot].var >= 0) solver_.SetBound(flows_[slot].var, FlowBound(flows_[slot], slowdown));
    }
  } else if (comm.phase == CommPhase::kLocal) {
    comm.local_left_s = std::max(0.0, comm.local_left_s - (now_ - comm.local_last_s) / comm.slowdown);
    comm.local_last_s = now_;
    events_.Push(now_ + comm.local_left_s * slowdown, EventKind::kCommLocalEnd, c, ++comm.version);
  }
  comm.slowdown = slowdown;
}

}  // namespace proteus
