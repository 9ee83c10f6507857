// One cuBLASLt matmul, planned once and run many times: row-major X[p,q] = Y[p,r] * Z[r,q] per
// batch, each operand stored as is or transposed. cuBLASLt is column-major, so the call computes
// X^T (q x p) = Z^T * Y^T: Z is its "A" (op T when Z is stored transposed, as [q,r]) and Y its "B"
// (op T when Y is stored as [r,p]). The algorithm is the first of cuBLASLt's heuristic ranking
// with the context's workspace (what frameworks get by default).
//   gemm fwd C[m,n] = A[m,k] B[k,n]:      p=m q=n r=k, Y=A, Z=B          ("NN"; fp8 stores B as [n,k]: "TN")
//   bwd_data dA[m,k] = dC[m,n] B^T:        p=m q=k r=n, Y=dC, Z=B stored [k,n] = Z^T   ("TN")
//   bwd_weight dB[k,n] = A^T dC:           p=k q=n r=m, Y=A stored [m,k] = Y^T, Z=dC    ("NT")
#pragma once

#include <cublasLt.h>

#include "common/dtype.h"
#include "profiler/cuda/ops.h"

namespace proteus::profiler {

struct LtOperand {
  DType type = DType::kBf16;
  bool transposed = false;   // stored as the transpose of its logical shape
};

class LtGemm {
 public:
  /// `math` picks the compute type (fp32: exact fp32, tf32: TF32 tensor cores, else fp32 accumulate).
  /// UnsupportedError when cuBLASLt offers no algorithm.
  LtGemm(OpContext& ctx, int64_t p, int64_t q, int64_t r, int64_t batch, LtOperand y, LtOperand z,
         DType out, DType math);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  /// X = alpha * Y Z + beta * X on the context's stream.
  void Run(const void* y, const void* z, void* x, float alpha = 1, float beta = 0);

 private:
  OpContext& ctx_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, d_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  size_t workspace_ = 0;
};

cudaDataType_t CudaType(DType t);

}  // namespace proteus::profiler
