#include "profiler/cuda/buffers.h"

#include "profiler/cuda/check.h"
#include "profiler/cuda/dtype_traits.cuh"

namespace proteus::profiler {
namespace {

template <class T>
__global__ void FillRandomKernel(T* p, int64_t n, uint64_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float u = Uniform01(seed, uint64_t(i));
    float mag = lo + (hi - lo) * (u < 0.5f ? 2 * u : 2 * u - 1);
    p[i] = FromF<T>(u < 0.5f ? mag : -mag);
  }
}

template <class T>
__global__ void FillConstantKernel(T* p, int64_t n, float v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = FromF<T>(v);
}

__global__ void FillIndexKernel(int32_t* p, int64_t n, int64_t bound, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = int32_t(Mix64(seed * 0x100000001b3ull + uint64_t(i)) % uint64_t(bound));
}

template <class T>
__global__ void ToFloatKernel(const T* in, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = ToF(in[i]);
}

template <class T>
__global__ void FromFloatKernel(const float* in, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = FromF<T>(in[i]);
}

}  // namespace

__global__ void proteus_marker_kernel() {}

DeviceBuffer::DeviceBuffer(int64_t bytes) : bytes_(bytes) {
  if (bytes > 0) PROTEUS_CUDA(cudaMalloc(&ptr_, static_cast<size_t>(bytes)));
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);  // not checked: a destructor runs during unwinding too
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

PinnedBuffer::PinnedBuffer(int64_t bytes) { PROTEUS_CUDA(cudaHostAlloc(&ptr_, static_cast<size_t>(bytes), cudaHostAllocDefault)); }
PinnedBuffer::~PinnedBuffer() {
  if (ptr_) cudaFreeHost(ptr_);
}

Tensor MakeTensor(DType t, int64_t elems) {
  return Tensor{DeviceBuffer(std::max<int64_t>(1, elems) * DTypeBytes(t)), t, elems};
}

Tensor RandomTensor(DType t, int64_t elems, uint64_t seed, float lo, float hi, cudaStream_t s) {
  Tensor x = MakeTensor(t, elems);
  FillRandom(x.get(), t, elems, seed, lo, hi, s);
  return x;
}

void FillRandom(void* p, DType t, int64_t n, uint64_t seed, float lo, float hi, cudaStream_t s) {
  if (t == DType::kInt32) { FillRandomIndices(static_cast<int32_t*>(p), n, 1 << 30, seed, s); return; }
  DispatchFloat(t, [&]<class T>() { FillRandomKernel<T><<<GridFor(n), 256, 0, s>>>(static_cast<T*>(p), n, seed, lo, hi); });
  PROTEUS_LAUNCH_CHECK();
}

void FillRandomIndices(int32_t* p, int64_t n, int64_t bound, uint64_t seed, cudaStream_t s) {
  FillIndexKernel<<<GridFor(n), 256, 0, s>>>(p, n, bound, seed);
  PROTEUS_LAUNCH_CHECK();
}

void FillConstant(void* p, DType t, int64_t n, float v, cudaStream_t s) {
  DispatchFloat(t, [&]<class T>() { FillConstantKernel<T><<<GridFor(n), 256, 0, s>>>(static_cast<T*>(p), n, v); });
  PROTEUS_LAUNCH_CHECK();
}

std::vector<float> ToHost(const Tensor& t) {
  std::vector<float> out(t.elems);
  if (t.dtype == DType::kInt32) {
    std::vector<int32_t> tmp(t.elems);
    PROTEUS_CUDA(cudaMemcpy(tmp.data(), t.get(), t.elems * 4, cudaMemcpyDeviceToHost));
    for (int64_t i = 0; i < t.elems; ++i) out[i] = float(tmp[i]);
    return out;
  }
  DeviceBuffer f(t.elems * 4);
  DispatchFloat(t.dtype, [&]<class T>() { ToFloatKernel<T><<<GridFor(t.elems), 256>>>(static_cast<const T*>(t.get()), f.as<float>(), t.elems); });
  PROTEUS_LAUNCH_CHECK();
  PROTEUS_CUDA(cudaMemcpy(out.data(), f.get(), t.elems * 4, cudaMemcpyDeviceToHost));
  return out;
}

void FromHost(const std::vector<float>& v, Tensor& t) {
  DeviceBuffer f(int64_t(v.size()) * 4);
  PROTEUS_CUDA(cudaMemcpy(f.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  DispatchFloat(t.dtype, [&]<class T>() { FromFloatKernel<T><<<GridFor(t.elems), 256>>>(f.as<float>(), static_cast<T*>(t.get()), t.elems); });
  PROTEUS_LAUNCH_CHECK();
  PROTEUS_CUDA(cudaDeviceSynchronize());
}

void LaunchMarker(cudaStream_t s) {
  proteus_marker_kernel<<<1, 1, 0, s>>>();
  PROTEUS_LAUNCH_CHECK();
}

}  // namespace proteus::profiler
