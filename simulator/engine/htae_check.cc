// Catching compiler bugs early: the structure HTAE relies on is checked before the run, and a run
// that stops with unfinished tasks says which task is stuck and on what.
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "common/error.h"
#include "simulator/engine/engine.h"
#include "simulator/engine/htae.h"

namespace proteus {

namespace {

[[noreturn]] void Bad(const std::string& what) { throw InternalError("execution graph: " + what); }

std::string TaskRef(const ExecGraph& g, TaskId t) {
  std::ostringstream os;
  os << "task " << t;
  if (t >= 0 && t < static_cast<TaskId>(g.tasks.size()) && g.tasks[t].name >= 0 &&
      g.tasks[t].name < static_cast<int32_t>(g.names.size())) {
    os << " '" << g.names[g.tasks[t].name] << "'";
  }
  return os.str();
}

void ValidateTasks(const ExecGraph& g) {
  const auto n = static_cast<int64_t>(g.tasks.size());
  for (int64_t i = 0; i < n; ++i) {
    const Task& t = g.tasks[i];
    const TaskId id = static_cast<TaskId>(i);
    if (t.gpu < 0 || t.gpu >= static_cast<int32_t>(g.gpus.size())) Bad(TaskRef(g, id) + " is on an unknown GPU");
    if (t.name < 0 || t.name >= static_cast<int32_t>(g.names.size())) Bad(TaskRef(g, id) + " has an unknown name");
    if (t.compute_class < 0 || t.compute_class >= static_cast<int32_t>(g.names.size())) {
      Bad(TaskRef(g, id) + " has an unknown compute class");
    }
    if (!std::isfinite(t.duration_s) || t.duration_s < 0) Bad(TaskRef(g, id) + " has a duration that is not finite and >= 0");
    if (t.dep_begin < 0 || t.dep_count < 0 || static_cast<size_t>(t.dep_begin) + t.dep_count > g.deps.size()) {
      Bad(TaskRef(g, id) + " has a dependency range outside deps");
    }
    for (int32_t d = t.dep_begin; d < t.dep_begin + t.dep_count; ++d) {
      if (g.deps[d] < 0 || g.deps[d] >= n || g.deps[d] == id) Bad(TaskRef(g, id) + " depends on an invalid task");
    }
    if (t.mem_begin < 0 || t.mem_count < 0 || static_cast<size_t>(t.mem_begin) + t.mem_count > g.mem_effects.size()) {
      Bad(TaskRef(g, id) + " has a memory-effect range outside mem_effects");
    }
    bool is_comm_kind = t.kind == TaskKind::kCollective || t.kind == TaskKind::kP2P;
    // A memcpy runs alone for its duration, or as flows over links when it has a Comm (host copies).
    if (t.kind != TaskKind::kMemcpy && is_comm_kind != (t.comm >= 0))
      Bad(TaskRef(g, id) + ": collective/p2p tasks, and only they (and memcpys over links), have a comm");
    if (t.comm >= static_cast<CommId>(g.comms.size())) Bad(TaskRef(g, id) + " names an unknown comm");
  }
}

void ValidateStreams(const ExecGraph& g) {
  std::vector<uint8_t> listed(g.tasks.size(), 0);
  for (size_t gpu = 0; gpu < g.gpus.size(); ++gpu) {
    for (int s = 0; s < kNumStreams; ++s) {
      for (TaskId t : g.gpus[gpu].streams[s]) {
        if (t < 0 || t >= static_cast<TaskId>(g.tasks.size())) Bad("a stream of GPU " + g.gpus[gpu].label + " lists an unknown task");
        if (g.tasks[t].gpu != static_cast<int32_t>(gpu) || static_cast<int>(g.tasks[t].stream) != s) {
          Bad(TaskRef(g, t) + " is listed in a stream other than its own (GPU " + g.gpus[gpu].label + ", " +
              std::string(StreamName(static_cast<StreamKind>(s))) + ")");
        }
        if (listed[t]++) Bad(TaskRef(g, t) + " is listed twice in its stream");
      }
    }
  }
  for (size_t t = 0; t < g.tasks.size(); ++t) {
    if (!listed[t]) Bad(TaskRef(g, static_cast<TaskId>(t)) + " is in no stream");
  }
}

std::string CommRef(const ExecGraph& g, size_t c) {
  return "comm " + std::to_string(c) + " (" + std::string(CollOpName(g.comms[c].op)) + ")";
}

void ValidatePlan(const ExecGraph& g, size_t c) {
  if (!g.comms[c].plan) Bad(CommRef(g, c) + " has no plan");
  const CollectivePlan& plan = *g.comms[c].plan;
  if (!std::isfinite(plan.latency_s) || plan.latency_s < 0 || !std::isfinite(plan.time_s) || plan.time_s < 0) {
    Bad(CommRef(g, c) + " has a latency or time that is not finite and >= 0");
  }
  for (const FlowSpec& f : plan.flows) {
    if (!std::isfinite(f.bytes)) Bad(CommRef(g, c) + " has a flow of non-finite size");
    for (LinkId l : f.links) {
      if (l < 0 || l >= static_cast<LinkId>(g.link_capacity.size())) Bad(CommRef(g, c) + " routes a flow over an unknown link");
      double cap = g.link_capacity[l];
      if (f.bytes > 0 && !(std::isfinite(cap) && cap > 0)) {
        Bad(CommRef(g, c) + " routes a flow over link " + std::to_string(l) + " without a positive capacity");
      }
    }
  }
}

void ValidateComms(const ExecGraph& g) {
  std::vector<uint8_t> member(g.tasks.size(), 0);
  // Comms share plans (every micro-batch's step of one group): each distinct plan is checked once.
  std::unordered_set<const CollectivePlan*> checked_plans;
  for (size_t c = 0; c < g.comms.size(); ++c) {
    const Comm& comm = g.comms[c];
    if (comm.members.empty()) Bad(CommRef(g, c) + " has no member task");
    for (TaskId m : comm.members) {
      if (m < 0 || m >= static_cast<TaskId>(g.tasks.size()) || g.tasks[m].comm != static_cast<CommId>(c)) {
        Bad(CommRef(g, c) + " lists a member task that does not belong to it");
      }
      if (member[m]++) Bad(CommRef(g, c) + " lists " + TaskRef(g, m) + " twice");
    }
    if (checked_plans.insert(comm.plan.get()).second) ValidatePlan(g, c);
  }
  for (size_t t = 0; t < g.tasks.size(); ++t) {
    if (g.tasks[t].comm >= 0 && !member[t]) Bad(TaskRef(g, static_cast<TaskId>(t)) + " is not a member of its comm");
  }
}

}  // namespace

void ValidateExecGraph(const ExecGraph& graph) {
  if (graph.tasks.size() >= static_cast<size_t>(INT32_MAX)) Bad("too many tasks");
  ValidateTasks(graph);
  ValidateStreams(graph);
  ValidateComms(graph);
}

std::string Htae::Describe(TaskId t) const {
  const Task& task = g_.tasks[t];
  std::ostringstream os;
  os << "'" << g_.NameOf(task) << "' (task " << t << ", GPU " << g_.gpus[task.gpu].label << ", stream "
     << StreamName(task.stream) << ")";
  return os.str();
}

std::string Htae::WhyNotDone(TaskId t) const {
  const Task& task = g_.tasks[t];
  if (state_[t] == TaskState::kRunning) return "is running";
  if (state_[t] == TaskState::kReady) return "waits at the rendezvous of comm " + std::to_string(task.comm);
  for (TaskId s : g_.gpus[task.gpu].streams[static_cast<int>(task.stream)]) {
    if (s == t || !InOrder(task.stream)) break;
    if (state_[s] != TaskState::kDone) return "is queued behind " + Describe(s);
  }
  for (int32_t i = task.dep_begin; i < task.dep_begin + task.dep_count; ++i) {
    if (state_[g_.deps[i]] != TaskState::kDone) return "waits for dependency " + Describe(g_.deps[i]);
  }
  return "is not ready";
}

// Finds the first stream head that never started and says what it waits for: an unfinished
// dependency, or the members of its comm that never became ready (and what blocks each).
void Htae::ReportDeadlock() const {
  std::ostringstream os;
  os << "deadlock at t = " << now_ << " s: " << (static_cast<int64_t>(g_.tasks.size()) - tasks_done_) << " of "
     << g_.tasks.size() << " tasks never finished; ";
  for (const SimGpu& gpu : g_.gpus) {
    for (const auto& stream : gpu.streams) {
      for (TaskId t : stream) {
        if (state_[t] == TaskState::kDone) continue;
        if (state_[t] == TaskState::kRunning) break;  // it will be reported through what it waits on
        const Task& task = g_.tasks[t];
        os << "stuck: " << Describe(t);
        for (int32_t i = task.dep_begin; i < task.dep_begin + task.dep_count; ++i) {
          TaskId d = g_.deps[i];
          if (state_[d] != TaskState::kDone) {
            os << " waits for dependency " << Describe(d) << ", which " << WhyNotDone(d);
            throw InternalError(os.str());
          }
        }
        if (task.comm >= 0) {
          const Comm& comm = g_.comms[task.comm];
          os << " waits at the rendezvous of comm " << task.comm << " (" << CollOpName(comm.op) << ", "
             << comms_[task.comm].ready << " of " << comm.members.size() << " members ready)";
          for (TaskId m : comm.members) {
            if (state_[m] == TaskState::kWaiting) {
              os << "; member " << Describe(m) << " " << WhyNotDone(m);
              break;
            }
          }
          throw InternalError(os.str());
        }
        break;  // not the head's fault: the stream predecessor is running; keep looking
      }
    }
  }
  os << "no stuck stream head found (a dependency cycle through running tasks)";
  throw InternalError(os.str());
}

}  // namespace proteus
