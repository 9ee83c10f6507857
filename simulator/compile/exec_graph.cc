#include "simulator/compile/exec_graph.h"

#include "common/error.h"

namespace proteus {

std::string_view StreamName(StreamKind s) {
  switch (s) {
    case StreamKind::kCompute: return "compute";
    case StreamKind::kTpComm: return "tp_comm";
    case StreamKind::kDpComm: return "dp_comm";
    case StreamKind::kPpComm: return "pp_comm";
    case StreamKind::kCopy: return "copy";
    case StreamKind::kPsComm: return "ps_comm";
  }
  return "?";
}

std::string_view MemCategoryName(MemCategory c) {
  switch (c) {
    case MemCategory::kWeights: return "weights";
    case MemCategory::kGradients: return "gradients";
    case MemCategory::kOptimizer: return "optimizer";
    case MemCategory::kActivations: return "activations";
    case MemCategory::kBuffers: return "buffers";
  }
  return "?";
}

int32_t ExecGraph::Intern(std::string_view name) {
  auto [it, inserted] = intern_index_.emplace(std::string(name), static_cast<int32_t>(names.size()));
  if (inserted) names.emplace_back(name);
  return it->second;
}

const std::shared_ptr<const CollectivePlan>& EmptyPlan() {
  static const auto* const empty = new std::shared_ptr<const CollectivePlan>(std::make_shared<const CollectivePlan>());
  return *empty;
}

TaskId ExecGraph::AddTask(Task task, const std::vector<TaskId>& task_deps, const std::vector<MemEffect>& mem) {
  PROTEUS_CHECK(task.gpu >= 0 && task.gpu < static_cast<int32_t>(gpus.size()), "task on unknown GPU");
  TaskId id = static_cast<TaskId>(tasks.size());
  task.dep_begin = static_cast<int32_t>(deps.size());
  task.dep_count = static_cast<int32_t>(task_deps.size());
  for (TaskId d : task_deps) {
    PROTEUS_CHECK(d >= 0 && d < id, "dependency on a task not yet added");
    deps.push_back(d);
  }
  task.mem_begin = static_cast<int32_t>(mem_effects.size());
  task.mem_count = static_cast<int32_t>(mem.size());
  mem_effects.insert(mem_effects.end(), mem.begin(), mem.end());
  gpus[task.gpu].streams[static_cast<int>(task.stream)].push_back(id);
  tasks.push_back(task);
  return id;
}

}  // namespace proteus
