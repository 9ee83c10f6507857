// Tensor-parallel communication overlap (Megatron-Core tp_comm_overlap, Transformer Engine
// userbuffers): with sequence parallelism, the all-gather feeding a GEMM and the reduce-scatter
// following one are cut into tp pieces and pipelined with the GEMM cut the same way.
//
// Model. A GEMM over tokens is split along the sequence dim "s" into n = tp chunks. All-gather in
// front (TE's ring exchange): chunk 0 computes on the local shard at once while the n-1 other
// shards arrive one by one, chunk c waiting for piece c. Reduce-scatter behind (TE's pipelined
// split): chunk c is followed by the reduce-scatter of its 1/n of the output. With equal chunks g
// and pieces p the pipelines end at g + (n-1) max(g, p) (gather) and max(n g, g + (n-1) p) + p
// (scatter), so they are emitted compactly with the same timing: gather as chunk 0, chunks
// 1..n-2 (no wait), one all_gather of the n-1 pieces, and chunk n-1 waiting for it; scatter as
// chunk 0, one reduce_scatter of pieces 1..n-1 after it, chunks 1..n-1, and the last piece after
// them. That is 4 tasks per GEMM instead of 2n (a 1,024-GPU GPT-3 run would otherwise quadruple its
// task count). Each piece set pays the start-up of its pieces, one userbuffer copy each. The same pairs run in backward: a row-parallel GEMM's data gradient pipelined with the
// all-gather of its output gradient, a column-parallel GEMM's data gradient with the
// reduce-scatter of its input gradient. Each chunk takes 1/n of the whole GEMM's time: TE issues the
// chunk GEMMs round-robin on several streams, so the wave tail of one is filled by the next and the
// whole runs at about the unsplit GEMM's efficiency (pricing them as n separate small GEMMs would
// charge n wave tails). The engine's interference model slows the compute the pieces overlap.
// Worked example: fc1 at tp 4, s 2048: four GEMMs of s 512; the first starts with the local
// quarter of the input while three all_gathers of bytes/3 bring the rest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "simulator/compile/layout.h"
#include "simulator/model/op.h"

namespace proteus {

/// Start-up time of one piece. TE moves the pieces through userbuffers (registered NVLink memory,
/// copy-engine / SM copies signalled by flags), not NCCL kernels, so a piece pays a peer copy's
/// start-up (~2 us, cudaMemcpyPeerAsync latency over NVLink), not a collective launch; the
/// bandwidth part is the topology's as for any collective. Applied as an upper bound on the plan's latency.
inline constexpr double kUserbufferLatencyS = 2e-6;

/// Chunks first..first+count-1 (0-based) of `of` equal chunks of a GEMM, as one task.
struct ChunkOf {
  int first = 0, count = 1, of = 1;
  /// "[1/8]", "[2-7/8]" (1-based).
  std::string Label() const;
};

/// Whether `local` can be cut into n > 1 equal chunks along its sequence dim "s".
bool SplitsAlongSequence(const Operator& local, int n);

/// The single conversion of `convs` when it is `op` over a mesh axis of more than one rank; else nullopt.
std::optional<Conversion> SingleCollective(const std::vector<Conversion>& convs, CollOp op,
                                           const std::vector<int>& axis_sizes);

}  // namespace proteus
