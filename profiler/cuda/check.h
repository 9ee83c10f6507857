// Checking wrappers: every CUDA, cuBLASLt, cuDNN, NCCL and CUPTI call goes through one of these.
// A failure throws a DeviceError that names the call, file:line and the library's own message:
//   "profiler/cuda/gemm.cc:88: cublasLtMatmul(...) failed: CUBLAS_STATUS_NOT_SUPPORTED"
// Running out of device memory throws OomError (the op is recorded "oom" and skipped); a library
// saying "not supported" for a shape throws UnsupportedError (recorded "error", the run goes on);
// anything else is a DeviceError that ends the run.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cupti.h>
#include <nccl.h>

#include <string>

#include "common/error.h"

namespace proteus::profiler {

/// Device memory ran out (cudaMalloc, cuBLAS/cuDNN allocation).
class OomError : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

/// The library has no implementation for this shape/type; the GPU is still usable.
class UnsupportedError : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

namespace detail {
[[noreturn]] void ThrowCuda(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void ThrowCublas(cublasStatus_t s, const char* call, const char* file, int line);
[[noreturn]] void ThrowCudnn(cudnnStatus_t s, const char* call, const char* file, int line);
[[noreturn]] void ThrowNccl(ncclResult_t r, const char* call, const char* file, int line);
[[noreturn]] void ThrowCupti(CUptiResult r, const char* call, const char* file, int line);
}  // namespace detail

}  // namespace proteus::profiler

#define PROTEUS_CUDA(call)                                                                   \
  do {                                                                                       \
    cudaError_t proteus_e_ = (call);                                                         \
    if (proteus_e_ != cudaSuccess) ::proteus::profiler::detail::ThrowCuda(proteus_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define PROTEUS_CUBLAS(call)                                                                 \
  do {                                                                                       \
    cublasStatus_t proteus_s_ = (call);                                                      \
    if (proteus_s_ != CUBLAS_STATUS_SUCCESS) ::proteus::profiler::detail::ThrowCublas(proteus_s_, #call, __FILE__, __LINE__); \
  } while (0)
#define PROTEUS_CUDNN(call)                                                                  \
  do {                                                                                       \
    cudnnStatus_t proteus_s_ = (call);                                                       \
    if (proteus_s_ != CUDNN_STATUS_SUCCESS) ::proteus::profiler::detail::ThrowCudnn(proteus_s_, #call, __FILE__, __LINE__); \
  } while (0)
#define PROTEUS_NCCL(call)                                                                   \
  do {                                                                                       \
    ncclResult_t proteus_r_ = (call);                                                        \
    if (proteus_r_ != ncclSuccess && proteus_r_ != ncclInProgress)                          \
      ::proteus::profiler::detail::ThrowNccl(proteus_r_, #call, __FILE__, __LINE__);          \
  } while (0)
#define PROTEUS_CUPTI(call)                                                                  \
  do {                                                                                       \
    CUptiResult proteus_r_ = (call);                                                         \
    if (proteus_r_ != CUPTI_SUCCESS) ::proteus::profiler::detail::ThrowCupti(proteus_r_, #call, __FILE__, __LINE__); \
  } while (0)
/// Checks the last kernel launch.
#define PROTEUS_LAUNCH_CHECK() PROTEUS_CUDA(cudaGetLastError())
