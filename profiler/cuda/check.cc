#include "profiler/cuda/check.h"

namespace proteus::profiler::detail {
namespace {
std::string Where(const char* call, const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: ";
}
}  // namespace

void ThrowCuda(cudaError_t e, const char* call, const char* file, int line) {
  std::string msg = Where(call, file, line) + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // not sticky: clear it so the next op can run
    throw OomError(msg);
  }
  throw DeviceError(msg);
}

void ThrowCublas(cublasStatus_t s, const char* call, const char* file, int line) {
  std::string msg = Where(call, file, line) + cublasLtGetStatusString(s);
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw OomError(msg);
  if (s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_INVALID_VALUE || s == CUBLAS_STATUS_ARCH_MISMATCH)
    throw UnsupportedError(msg);
  throw DeviceError(msg);
}

void ThrowCudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  std::string msg = Where(call, file, line) + cudnnGetErrorString(s) + (detail[0] ? std::string(" (") + detail + ")" : "");
  if (s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) throw OomError(msg);
  int category = static_cast<int>(s) / 1000;  // cuDNN 9: 2xxx bad parameter, 3xxx not supported
  if (category == 2 || category == 3) throw UnsupportedError(msg);
  throw DeviceError(msg);
}

void ThrowNccl(ncclResult_t r, const char* call, const char* file, int line) {
  std::string msg = Where(call, file, line) + ncclGetErrorString(r);
  const char* last = ncclGetLastError(nullptr);
  if (last && last[0]) msg += std::string(" (") + last + ")";
  if (r == ncclInvalidUsage || r == ncclInvalidArgument) throw UnsupportedError(msg);
  throw DeviceError(msg);
}

void ThrowCupti(CUptiResult r, const char* call, const char* file, int line) {
  const char* s = nullptr;
  cuptiGetResultString(r, &s);
  throw DeviceError(Where(call, file, line) + (s ? s : "unknown CUPTI error"));
}

}  // namespace proteus::profiler::detail
