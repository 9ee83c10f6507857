// Element types on the device: load/store through float, the one computation type of proteus's own
// kernels (all reductions accumulate in fp32).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "common/dtype.h"

namespace proteus::profiler {

__device__ __forceinline__ float ToF(float v) { return v; }
__device__ __forceinline__ float ToF(__half v) { return __half2float(v); }
__device__ __forceinline__ float ToF(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float ToF(__nv_fp8_e4m3 v) { return float(v); }
__device__ __forceinline__ float ToF(__nv_fp8_e5m2 v) { return float(v); }

template <class T> __device__ __forceinline__ T FromF(float v);
template <> __device__ __forceinline__ float FromF<float>(float v) { return v; }
template <> __device__ __forceinline__ __half FromF<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 FromF<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __nv_fp8_e4m3 FromF<__nv_fp8_e4m3>(float v) { return __nv_fp8_e4m3(v); }
template <> __device__ __forceinline__ __nv_fp8_e5m2 FromF<__nv_fp8_e5m2>(float v) { return __nv_fp8_e5m2(v); }

/// Calls f.template operator()<T>() with the device type of dtype `t` (float types only).
template <class F>
void DispatchFloat(DType t, F&& f) {
  switch (t) {
    case DType::kFp32: case DType::kTf32: f.template operator()<float>(); return;
    case DType::kFp16: f.template operator()<__half>(); return;
    case DType::kBf16: f.template operator()<__nv_bfloat16>(); return;
    case DType::kFp8E4M3: f.template operator()<__nv_fp8_e4m3>(); return;
    case DType::kFp8E5M2: f.template operator()<__nv_fp8_e5m2>(); return;
    default: f.template operator()<float>(); return;
  }
}

/// Counter-based hash (splitmix64 finalizer): a reproducible stream of random bits per index.
__device__ __forceinline__ uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
__device__ __forceinline__ float Uniform01(uint64_t seed, uint64_t i) {
  return float(Mix64(seed * 0x100000001b3ull + i) >> 40) * (1.0f / 16777216.0f);
}

/// Grid size for a grid-stride loop over n items with 256-thread blocks.
inline unsigned GridFor(int64_t n, int64_t cap = 65535LL * 8) {
  int64_t g = (n + 255) / 256;
  return static_cast<unsigned>(g < 1 ? 1 : g > cap ? cap : g);
}

}  // namespace proteus::profiler
