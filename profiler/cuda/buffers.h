// Device and pinned host buffers, and the random data every measurement runs on.
//
// FillRandom writes values with a random sign and a magnitude uniform in [lo, hi) (never zero, so
// no kernel takes a zero fast path): element i of seed s gets hash(s, i) -> u in [0,1),
// v = (lo + (hi - lo) * u) * sign. Deterministic for a seed, converted to the buffer's dtype.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "common/dtype.h"

namespace proteus::profiler {

/// Owns a cudaMalloc'ed region on the current device. OomError if it does not fit.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(int64_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  int64_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  int64_t bytes_ = 0;
};

/// Page-locked host memory (for H2D/D2H copies at full PCIe speed).
class PinnedBuffer {
 public:
  explicit PinnedBuffer(int64_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};

/// A typed device tensor: a buffer with its dtype and element count.
struct Tensor {
  DeviceBuffer buf;
  DType dtype = DType::kFp32;
  int64_t elems = 0;
  void* get() const { return buf.get(); }
};

/// Allocates `elems` elements of `t` (fp8 one byte, tf32 as fp32).
Tensor MakeTensor(DType t, int64_t elems);
/// Allocates and fills with random non-zero values in +-[lo, hi).
Tensor RandomTensor(DType t, int64_t elems, uint64_t seed, float lo = 0.25f, float hi = 1.0f, cudaStream_t s = 0);

void FillRandom(void* p, DType t, int64_t elems, uint64_t seed, float lo, float hi, cudaStream_t s);
/// Fills int32 values uniform in [0, bound) (embedding indices, cross-entropy targets).
void FillRandomIndices(int32_t* p, int64_t elems, int64_t bound, uint64_t seed, cudaStream_t s);
/// Fills with a constant (positive, e.g. Adam's second moment).
void FillConstant(void* p, DType t, int64_t elems, float value, cudaStream_t s);

/// Copies a device tensor to host floats (tests, CPU references).
std::vector<float> ToHost(const Tensor& t);
/// Copies host floats into a device tensor, converting to its dtype.
void FromHost(const std::vector<float>& v, Tensor& t);

/// An empty kernel that separates timed calls in the CUPTI record stream (cupti_timer.h).
void LaunchMarker(cudaStream_t s);
/// The marker kernel's name as CUPTI reports it (a substring match).
inline constexpr const char* kMarkerKernelName = "proteus_marker_kernel";

}  // namespace proteus::profiler
