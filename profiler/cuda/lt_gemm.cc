#include "profiler/cuda/lt_gemm.h"

#include "profiler/cuda/check.h"

namespace proteus::profiler {
namespace {

cublasComputeType_t ComputeType(DType math) {
  if (math == DType::kFp32) return CUBLAS_COMPUTE_32F;
  if (math == DType::kTf32) return CUBLAS_COMPUTE_32F_FAST_TF32;
  return CUBLAS_COMPUTE_32F;  // fp16 / bf16 / fp8 inputs accumulate in fp32, as Megatron does
}

cublasLtMatrixLayout_t Layout(DType t, uint64_t rows, uint64_t cols, int64_t batch) {
  cublasLtMatrixLayout_t l = nullptr;
  PROTEUS_CUBLAS(cublasLtMatrixLayoutCreate(&l, CudaType(t), rows, cols, static_cast<int64_t>(rows)));
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    int64_t stride = static_cast<int64_t>(rows * cols);
    PROTEUS_CUBLAS(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    PROTEUS_CUBLAS(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
  return l;
}

}  // namespace

cudaDataType_t CudaType(DType t) {
  switch (t) {
    case DType::kFp32: case DType::kTf32: return CUDA_R_32F;
    case DType::kFp16: return CUDA_R_16F;
    case DType::kBf16: return CUDA_R_16BF;
    case DType::kFp8E4M3: return CUDA_R_8F_E4M3;
    case DType::kFp8E5M2: return CUDA_R_8F_E5M2;
    case DType::kInt32: return CUDA_R_32I;
    case DType::kInt64: return CUDA_R_64I;
  }
  return CUDA_R_32F;
}

LtGemm::LtGemm(OpContext& ctx, int64_t p, int64_t q, int64_t r, int64_t batch, LtOperand y, LtOperand z,
               DType out, DType math)
    : ctx_(ctx) {
  PROTEUS_CUBLAS(cublasLtMatmulDescCreate(&desc_, ComputeType(math), CUDA_R_32F));
  cublasOperation_t op_a = z.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = y.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  PROTEUS_CUBLAS(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
  PROTEUS_CUBLAS(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
  // Stored shapes in column-major terms: Z^T is q x r, Y^T is r x p, X^T is q x p.
  a_ = z.transposed ? Layout(z.type, r, q, batch) : Layout(z.type, q, r, batch);
  b_ = y.transposed ? Layout(y.type, p, r, batch) : Layout(y.type, r, p, batch);
  d_ = Layout(out, q, p, batch);

  cublasLtMatmulPreference_t pref = nullptr;
  PROTEUS_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = OpContext::kWorkspaceBytes;
  PROTEUS_CUBLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(ctx.lt, desc_, a_, b_, d_, d_, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    this->~LtGemm();
    throw UnsupportedError("cuBLASLt has no algorithm for this matmul (" + std::string(cublasLtGetStatusString(st)) + ")");
  }
  algo_ = result.algo;
  workspace_ = result.workspaceSize;
}

LtGemm::~LtGemm() {
  if (d_) cublasLtMatrixLayoutDestroy(d_);
  if (b_) cublasLtMatrixLayoutDestroy(b_);
  if (a_) cublasLtMatrixLayoutDestroy(a_);
  if (desc_) cublasLtMatmulDescDestroy(desc_);
  d_ = b_ = a_ = nullptr;
  desc_ = nullptr;
}

void LtGemm::Run(const void* y, const void* z, void* x, float alpha, float beta) {
  PROTEUS_CUBLAS(cublasLtMatmul(ctx_.lt, desc_, &alpha, z, a_, y, b_, &beta, x, d_, x, d_, &algo_,
                                ctx_.workspace.get(), workspace_, ctx_.stream));
}

}  // namespace proteus::profiler
