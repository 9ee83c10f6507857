// gemm and bgemm, every phase, through LtGemm (lt_gemm.h has the layout algebra).
// Tensors: fwd A[m,k], B[k,n] ([n,k] in fp8) -> C[m,n]; bwd_data dC[m,n], B -> dA[m,k];
// bwd_weight A, dC -> dB[k,n]. fp8 keys keep every operand in the layout the fp8 tensor cores take
// ("TN": both K-major), as Transformer Engine does by keeping transposed fp8 copies; the gradient
// operand of an fp8_e5m2 key is e5m2, the other e4m3; fp8 products write bf16.
#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/lt_gemm.h"

namespace proteus::profiler {
namespace {

bool IsFp8(DType t) { return t == DType::kFp8E4M3 || t == DType::kFp8E5M2; }

class GemmOp : public OpInstance {
 public:
  GemmOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets) {
    int64_t batch = key.kind == "bgemm" ? key.shape.at("batch") : 1;
    int64_t m = key.shape.at("m"), n = key.shape.at("n"), k = key.shape.at("k");
    DType t = key.dtype, elem = t == DType::kTf32 ? DType::kFp32 : t;
    bool fp8 = IsFp8(t);
    DType grad = elem, other = fp8 ? DType::kFp8E4M3 : elem;  // e5m2 only on the gradient operand
    DType out = fp8 ? DType::kBf16 : elem;
    int64_t p = 0, q = 0, r = 0;
    LtOperand y, z;
    switch (key.phase) {
      case Phase::kFwd:  // C = A B
        p = m, q = n, r = k;
        y = {grad, false};  // the activation; e5m2 for an fp8_e5m2 key
        z = {other, fp8};
        break;
      case Phase::kBwdData:  // dA = dC B^T
        p = m, q = k, r = n;
        y = {grad, false};
        z = {other, true};
        break;
      default:  // bwd_weight: dB = A^T dC
        p = k, q = n, r = m;
        y = {other, !fp8};
        z = {grad, fp8};
        break;
    }
    AddIn("Y", y.type, batch * p * r);
    AddIn("Z", z.type, batch * r * q);
    AddOut("X", out, batch * p * q);
    gemm_ = std::make_unique<LtGemm>(ctx, p, q, r, batch, y, z, out, t);
  }
  void Run(int set) override { gemm_->Run(I("Y", set).get(), I("Z", set).get(), out_.at("X").get()); }

 private:
  std::unique_ptr<LtGemm> gemm_;
};

}  // namespace

std::unique_ptr<OpInstance> CreateGemmOp(const OpKey& key, OpContext& ctx, int sets) {
  return std::make_unique<GemmOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
