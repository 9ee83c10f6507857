#include "profiler/cuda/ops.h"


#include "profiler/cuda/check.h"

namespace proteus::profiler {
namespace {
// FNV-1a of the tensor name, so that the same key always runs on the same data.
uint64_t SeedOf(const std::string& name, int set) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h * 1000003ull + uint64_t(set) + 1;
}
}  // namespace

OpContext::OpContext(int dev) : device(dev) {
  PROTEUS_CUDA(cudaSetDevice(dev));
  PROTEUS_CUDA(cudaGetDeviceProperties(&prop, dev));
  PROTEUS_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  PROTEUS_CUBLAS(cublasLtCreate(&lt));
  PROTEUS_CUDNN(cudnnCreate(&cudnn));
  PROTEUS_CUDNN(cudnnSetStream(cudnn, stream));
  workspace = DeviceBuffer(kWorkspaceBytes);
}

OpContext::~OpContext() {
  cudaSetDevice(device);
  if (cudnn) cudnnDestroy(cudnn);
  if (lt) cublasLtDestroy(lt);
  if (stream) cudaStreamDestroy(stream);
}

void OpInstance::AddIn(const std::string& name, DType t, int64_t elems, float lo, float hi) {
  auto& v = in_[name];
  for (int s = 0; s < sets_; ++s) v.push_back(RandomTensor(t, elems, SeedOf(name, s), lo, hi, ctx_.stream));
}

void OpInstance::AddIndices(const std::string& name, int64_t elems, int64_t bound) {
  auto& v = in_[name];
  for (int s = 0; s < sets_; ++s) {
    Tensor x = MakeTensor(DType::kInt32, elems);
    FillRandomIndices(static_cast<int32_t*>(x.get()), elems, bound, SeedOf(name, s), ctx_.stream);
    v.push_back(std::move(x));
  }
}

void OpInstance::AddOut(const std::string& name, DType t, int64_t elems) {
  Tensor x = MakeTensor(t, elems);
  // Outputs start random too: an op that reads its output (accumulation) never sees zeros.
  FillRandom(x.get(), t, elems, SeedOf(name, 999), 0.25f, 1.0f, ctx_.stream);
  out_[name] = std::move(x);
}

std::unique_ptr<OpInstance> CreateOp(const OpKey& key, OpContext& ctx, int sets) {
  const std::string& k = key.kind;
  if (k == "gemm" || k == "bgemm") return CreateGemmOp(key, ctx, sets);
  if (k == "attention") return CreateAttentionOp(key, ctx, sets);
  if (k == "layernorm" || k == "rmsnorm" || k == "softmax" || k == "cross_entropy") return CreateRowOp(key, ctx, sets);
  if (k == "conv2d" || k == "batchnorm" || k == "pool") return CreateCudnnOp(key, ctx, sets);
  if (k == "copy") return CreateCopyOp(key, ctx, sets);
  return CreatePointwiseOp(key, ctx, sets);
}

}  // namespace proteus::profiler
