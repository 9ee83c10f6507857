// Optimizer offload steps of a stage program (DeepSpeed ZeRO-Offload, stage_1_and_2.py with
// cpu_offload): what runs where, in order. host_offload.h prices them per GPU.
//   backward, per gradient bucket, last micro-batch: reduce-scatter -> the GPU's gradient shard cast to
//     fp32 and copied to pinned CPU memory (async_inplace_copy_grad_to_fp32_buffer_from_gpu:
//     `src_tensor.float()`, then `copy_(non_blocking=True)`: 4 bytes per parameter over PCIe), on the
//     copy stream while backward goes on;
//   tail: CPU Adam over the shard (after every copy), then the updated parameters copied back into the
//     GPU's 16-bit partition (`bit16_partitions[..].data.copy_(fp32_partition)`: PyTorch casts on the
//     CPU before a host-to-device copy, so 2 bytes per parameter for bf16), then the ZeRO all-gathers.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

void ProgramBuilder::AddGradToHost(std::vector<Step>& list, const Bucket& b, int id, int reduced) {
  Step s;
  s.kind = TaskKind::kMemcpy;
  s.stream = StreamKind::kCopy;
  s.phase = Phase::kBwdWeight;
  s.host_op = HostOp::kGradToHost;
  s.bytes = OffloadedGradBytes(b.params, axis_sizes_[b.shard_axis]);
  s.dtype = DType::kFp32;
  s.name = g_.Intern("grad bucket " + std::to_string(id) + " to host");
  s.compute_class = g_.Intern("copy");
  s.source = CostSource::kTopologyModel;
  s.last_microbatch_only = true;
  s.deps = {reduced};
  // The fp32 cast of the shard (`.float()`) lives on the GPU until its copy ends.
  s.mem = {{MemCategory::kBuffers, false, s.bytes}, {MemCategory::kBuffers, true, -s.bytes}};
  Add(list, std::move(s));
}

int32_t ProgramBuilder::AddOffloadedStep(const RankState& rs, std::vector<Step>& tail) {
  Step adam;
  adam.kind = TaskKind::kMemcpy;  // host work: no GPU compute, no interference
  adam.stream = StreamKind::kCopy;
  adam.phase = Phase::kStep;
  adam.host_op = HostOp::kCpuAdam;
  adam.host_params = rs.step_params;
  adam.name = g_.Intern("cpu adam (offloaded optimizer)");
  adam.compute_class = g_.Intern("cpu");
  adam.source = CostSource::kRoofline;
  for (size_t k = 0; k < tail.size(); ++k) adam.deps.push_back(static_cast<int32_t>(k));
  int32_t adam_index = static_cast<int32_t>(tail.size());
  tail.push_back(std::move(adam));

  Step h2d;
  h2d.kind = TaskKind::kMemcpy;
  h2d.stream = StreamKind::kCopy;
  h2d.phase = Phase::kStep;
  h2d.host_op = HostOp::kParamsToDevice;
  DType stored = s_.precision.params == ParamStorage::kFp32 ? DType::kFp32 : rs.step_dtype;
  h2d.dtype = stored;
  h2d.bytes = rs.step_params * DTypeBytes(stored);
  h2d.name = g_.Intern("param shard to device");
  h2d.compute_class = g_.Intern("copy");
  h2d.source = CostSource::kTopologyModel;
  h2d.deps = {adam_index};
  tail.push_back(std::move(h2d));
  return static_cast<int32_t>(tail.size() - 1);
}

}  // namespace proteus::program_build
