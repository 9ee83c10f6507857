// NCCL's chunking and the pipeline fill of its staged kernels: what NCCL's tuning model
// (tuning.cc) leaves out, and why NVLS collectives reach their bandwidth only at large sizes.
//
// Model. NCCL cuts a collective into loops; one loop moves `channels x heads x chunk` bytes
// (enqueue.cc, calcCollChunking: loopSize = nChannels x nchunksPerLoop x chunkSize). The NVLS
// kernels (device/all_reduce.h, reduce_scatter.h, all_gather.h, single node, unregistered buffers)
// split each channel's thread block into warp groups that work on successive loops at once:
//   all_reduce:      scatter (input -> heads' buffers) | reduce (multimem ld_reduce + st) | gather
//   reduce_scatter:  scatter | reduce
//   all_gather:      scatter (multimem st) | gather
// i.e. a pipeline of S stages. Each stage handles one loop per stage time, so in steady state a
// loop leaves every stage time (the tuning model's algBw), but the first loop crosses S stages
// before the pipeline runs full and the last drains through them:
//   fill = (S - 1) x min(bytes, loopBytes) / algBw
// The chunk grows with the message (enqueue.cc, NVLS: nvlsChunkSize 128 KiB, down to 64 KiB below
// 64 x concurrentOps x chunk, 32 KiB below 8x, 16 KiB below 2x; concurrentOps = nvlsChannels x
// nHeads), so the fill grows with size up to 1 GiB: this is the bandwidth ramp nccl-tests shows.
// Rings have no fill (every rank starts its own chunk at step 0, all steps run full); the chain
// of trees and the network stages of NVLS-tree are not modelled here (see docs/topology.md).
//
// Worked example, all_reduce of 16 MiB on 8x H100 (16 NVLS channels, 8 heads, algBw 266.7 GB/s):
// concurrentOps = 128; 16 MiB < 64 x 128 x 64 KiB and < 8 x 128 x 64 KiB (64 MiB) -> chunk 32 KiB,
// not < 2 x 128 x 32 KiB (8 MiB) -> stays 32 KiB; loop = 16 x 8 x 32 KiB = 4 MiB;
// fill = 2 x 4 MiB / 266.7 GB/s = 31.5 us (the tuning model alone: 23 + 62.9 us).
#pragma once

#include <cstdint>

#include "topo/collective.h"
#include "topo/nccl_tuning.h"

namespace proteus {

// NCCL constants (src/include/device.h, src/init.cc defaults), restated.
inline constexpr int kNcclSteps = 8;                          // NCCL_STEPS
inline constexpr int64_t kNcclSimpleBuffBytes = 1 << 22;      // NCCL_BUFFSIZE default, 4 MiB
inline constexpr int64_t kNcclLlBuffBytes = 8 * 512 * 8 * 16; // LL lines/thread x max threads x steps x 16 B line
inline constexpr int64_t kNcclLl128BuffBytes = 120 * 640 * 8 * 8;  // LL128 elems/thread x threads x steps x 8 B
inline constexpr int64_t kNcclNvlsChunkBytes = 128 * 1024;    // NCCL_NVLS_CHUNKSIZE default
inline constexpr int kNcclRingChunkSteps = kNcclSteps / 2;  // ALLREDUCE_CHUNKSTEPS (device/collectives.h)

struct ChunkQuery {
  NcclAlgo algo = NcclAlgo::kRing;
  NcclProto proto = NcclProto::kSimple;
  CollOp op = CollOp::kAllReduce;
  int channels = 1;   // channels the run launches
  int heads = 1;      // NVLS heads (GPUs of the node in the NVLS group); 1 otherwise
  int64_t bytes = 0;  // per-rank buffer
};

/// NCCL's chunk size in bytes for one step of one channel (calcCollChunking): the protocol's
/// step (buffer / NCCL_STEPS; LL carries half, LL128 120 of 128 bytes), ring Simple
/// all_reduce / all_gather / reduce_scatter x NCCL_STEPS/2, NVLS capped at nvlsChunkSize and shrunk for small messages.
int64_t NcclChunkBytes(const ChunkQuery& q);

/// Stages of the algorithm's kernel pipeline (1 = no fill modelled): NVLS all_reduce 3,
/// NVLS reduce_scatter / all_gather 2, everything else 1.
int PipelineStages(NcclAlgo algo, CollOp op);

/// The fill and drain time of the pipeline, seconds: (S - 1) x min(bytes, loop) / alg_bw, with
/// loop = channels x heads x chunk. 0 for single-stage kernels. alg_bw in bytes/s (> 0).
double PipelineFillTime(const ChunkQuery& q, double alg_bw);

}  // namespace proteus
