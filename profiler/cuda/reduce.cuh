// Block-wide reductions for proteus's row kernels (one block per row, blockDim a multiple of 32,
// at most 1024 threads). Every thread gets the result.
#pragma once

namespace proteus::profiler {

__device__ __forceinline__ float WarpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <bool kMax>
__device__ __forceinline__ float BlockReduce(float v) {
  __shared__ float partial[32];
  __shared__ float result;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = kMax ? WarpMax(v) : WarpSum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < warps ? partial[lane] : (kMax ? -INFINITY : 0.f);
    w = kMax ? WarpMax(w) : WarpSum(w);
    if (lane == 0) result = w;
  }
  __syncthreads();
  float r = result;
  __syncthreads();  // partial/result may be reused by the next reduction
  return r;
}
__device__ __forceinline__ float BlockSum(float v) { return BlockReduce<false>(v); }
__device__ __forceinline__ float BlockMax(float v) { return BlockReduce<true>(v); }

}  // namespace proteus::profiler
