// Compute/communication interference on one GPU: how much slower an op runs while a collective
// loops on another stream, and how much slower the collective runs meanwhile.
//
//   compute_slowdown = median kernel time of the op co-running / alone (CUPTI kernel sums on GPU 0)
//   comm_slowdown    = median collective time co-running / alone (max over ranks)
// Co-running: the collective is enqueued on all local GPUs for ~0.15 s; after its second call the
// op is enqueued on GPU 0's compute stream for ~0.1 s, so the op's calls all overlap collectives.
// The op runs on GPU 0 only (the other GPUs only communicate), which understates the slowdown of
// a collective whose every rank computes (docs/profiler.md).
#pragma once

#include "common/costdb.h"
#include "profiler/cuda/nccl_bench.h"
#include "profiler/cuda/ops.h"
#include "profiler/plan.h"

namespace proteus::profiler {

InterferenceEntry MeasureInterferencePair(const InterferencePair& pair, OpContext& ctx, NcclBench& nccl);

}  // namespace proteus::profiler
