// Input limits of a strategy, whether read from a file (strategy.cc) or expanded from shorthand flags
// (shorthand.cc). Far above real jobs (the largest clusters have ~10^5 GPUs; interleaved schedules
// use a handful of chunks; global batches are ~10^4 samples), they keep every count an exact int and
// every product (mesh GPUs, micro_batch x dp, pp x chunks virtual stages) within int64.
#pragma once

#include <cstdint>

namespace proteus {

inline constexpr int64_t kMaxMeshGpus = int64_t{1} << 20;
inline constexpr int64_t kMaxScheduleChunks = 1024;  // interleaved:V, chunks per GPU
inline constexpr int64_t kMaxBatch = int64_t{1} << 31;

}  // namespace proteus
