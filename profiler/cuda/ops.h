// Operator implementations the profiler times, one per canonical kind (op_semantics.h says what
// each key and phase means). An OpInstance owns its tensors: inputs in `sets` rotated copies of
// random data (stats.h RotationSets), outputs once; Run(i) is one call on input set i % sets.
//
//   gemm, bgemm        cuBLASLt, the algorithm its heuristic ranks first (gemm.cc)
//   attention          cuBLASLt batched gemms + proteus softmax kernels, unfused (attention.cu)
//   norms, softmax, cross_entropy            proteus row kernels (row_kernels.cu)
//   gelu, swiglu, dropout, add, rope, embedding, adam   proteus kernels (pointwise_kernels.cu)
//   conv2d, batchnorm, pool                  cuDNN (cudnn_ops.cc)
//   copy               cudaMemcpyAsync / cudaMemcpyPeerAsync (copies.cc)
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/op_key.h"
#include "profiler/cuda/buffers.h"

namespace proteus::profiler {

/// Per-device handles the ops share. Create on the device it is for.
struct OpContext {
  explicit OpContext(int device);
  ~OpContext();
  OpContext(const OpContext&) = delete;
  OpContext& operator=(const OpContext&) = delete;

  int device = 0;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t cudnn = nullptr;
  DeviceBuffer workspace;            // cuBLASLt / cuDNN workspace
  cudaDeviceProp prop{};
  static constexpr int64_t kWorkspaceBytes = int64_t{64} << 20;
};

class OpInstance {
 public:
  OpInstance(OpContext& ctx, int sets) : ctx_(ctx), sets_(sets < 1 ? 1 : sets) {}
  virtual ~OpInstance() = default;
  /// One call of the op on input set `set % sets` (asynchronous, on ctx.stream).
  virtual void Run(int set) = 0;
  /// Tensors by name, for CPU-reference tests: a rotated input (set 0 by default) or an output.
  Tensor& In(const std::string& name, int set = 0) { return in_.at(name).at(set % sets_); }
  Tensor& Out(const std::string& name) { return out_.at(name); }
  int sets() const { return sets_; }

 protected:
  /// `sets` random copies, magnitudes in [lo, hi) with random sign.
  void AddIn(const std::string& name, DType t, int64_t elems, float lo = 0.25f, float hi = 1.0f);
  /// `sets` copies of int32 indices uniform in [0, bound).
  void AddIndices(const std::string& name, int64_t elems, int64_t bound);
  void AddOut(const std::string& name, DType t, int64_t elems);
  const Tensor& I(const std::string& name, int set) const { return in_.at(name).at(set % sets_); }
  /// Typed device pointers of an input copy and of an output, for kernel launches.
  template <class T> const T* P(const std::string& name, int set) const { return static_cast<const T*>(I(name, set).get()); }
  template <class T> T* O(const std::string& name) { return static_cast<T*>(out_.at(name).get()); }

  OpContext& ctx_;
  int sets_;
  std::map<std::string, std::vector<Tensor>> in_;
  std::map<std::string, Tensor> out_;
};

/// Builds the op a canonical key names. OomError if it does not fit, UnsupportedError if no
/// library implementation exists for it.
std::unique_ptr<OpInstance> CreateOp(const OpKey& key, OpContext& ctx, int sets);

// Per family (each in its own file).
std::unique_ptr<OpInstance> CreateGemmOp(const OpKey& key, OpContext& ctx, int sets);
std::unique_ptr<OpInstance> CreateAttentionOp(const OpKey& key, OpContext& ctx, int sets);
std::unique_ptr<OpInstance> CreateRowOp(const OpKey& key, OpContext& ctx, int sets);
std::unique_ptr<OpInstance> CreatePointwiseOp(const OpKey& key, OpContext& ctx, int sets);
std::unique_ptr<OpInstance> CreateCudnnOp(const OpKey& key, OpContext& ctx, int sets);
std::unique_ptr<OpInstance> CreateCopyOp(const OpKey& key, OpContext& ctx, int sets);

}  // namespace proteus::profiler
