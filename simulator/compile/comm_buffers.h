// NCCL's communication buffers: static memory (MemCategory::kBuffers) every communicator a GPU
// uses allocates when it connects.
//
// Model. NCCL gives each channel of a connection one buffer per protocol (src/init.cc
// computeBuffSizes): Simple NCCL_BUFFSIZE (default 4 MiB), LL 8 lines x 512 threads x 8 steps x 16 B
// = 512 KiB, LL128 120 x 640 threads x 8 steps x 8 B = 4,800 KiB. Per GPU:
//   collective communicator (one per stream kind the GPU runs collectives on: tp, dp; HSDP's dp
//   shard and replicate groups are two, Comm::communicator):
//       channels x (Simple + LL + LL128)      (the ring connection of each channel; the channel
//                                              count is the most any of its collectives runs)
//   point-to-point peer (pp sends and receives, per distinct peer GPU):
//       channels x Simple                     (p2p transfers use the Simple protocol)
// Megatron's contiguous gradient buffer is the gradient memory itself (MemCategory::kGradients);
// not counted: host copies (memcpy tasks; no NCCL), NVLS/CollNet buffers, and communicators a framework creates but never uses
// (PyTorch connects NCCL lazily, on a group's first collective).
//
// Worked example: tp 8 on one H100 node (12 ring channels) and dp over nodes (16 channels), no pp:
//   (12 + 16) x (4 MiB + 512 KiB + 4,800 KiB) = 28 x 9.19 MiB = 257 MiB per GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/compile/exec_graph.h"

namespace proteus {

/// NCCL's default LL and LL128 buffer sizes per channel (src/init.cc DEFAULT_LL_BUFFSIZE,
/// DEFAULT_LL128_BUFFSIZE).
inline constexpr int64_t kNcclLlBuffsize = int64_t{8} * 512 * 8 * 16;
inline constexpr int64_t kNcclLl128Buffsize = int64_t{120} * 640 * 8 * 8;

/// Buffer bytes per simulated GPU (indexed like graph.gpus), from the comms it takes part in;
/// `simple_buffsize` is NCCL_BUFFSIZE.
std::vector<int64_t> NcclBufferBytes(const ExecGraph& graph, int64_t simple_buffsize);

/// Sets static_memory[kBuffers] of every simulated GPU.
void AddNcclBuffers(ExecGraph& graph, int64_t simple_buffsize);

}  // namespace proteus
