// The work one canonical operator call does: the FLOPs its kernels execute, the bytes they must move
// through HBM, and the geometry the efficiency model needs (cost/efficiency.h). The roofline
// (cost/roofline.h) turns this into time; interpolation (cost/interpolate.h) uses the roofline as
// its baseline, so every kind of common/op_key.h has an entry here.
//
// Conventions (e = bytes per element of the key's dtype):
//   gemm m,n,k      flops 2mnk in every phase; bytes e(mk + kn + mn). The output tile grid differs by
//                   phase: fwd C[m,n] over k; bwd_data dA[m,k] over n; bwd_weight dB[k,n] over m.
//   attention       fwd flops 4 * batch*heads*seq_q*seq_kv*head_dim, halved when causal; bwd_data
//                   2.5x fwd (FlashAttention-2's count: 5 matmuls with the recomputed scores vs 2).
//   streaming kinds bytes = tensors read + written once (e.g. layernorm fwd 2*rows*cols*e), few FLOPs.
//   adam params     fp32 master, grad, m, v read (16 B) and written (12 B) + the low-precision copy.
// Worked example: gemm/bf16/fwd m=4096 n=6144 k=12288 does 2*4096*6144*12288 = 6.18e11 FLOPs and
// moves 2*(4096*12288 + 12288*6144 + 4096*6144) = 302 MB.
#pragma once

#include <cstdint>

#include "common/op_key.h"

namespace proteus {

/// Which ceiling bounds the math of a kernel.
enum class MathUnit : uint8_t {
  kTensor,     // matmul-like on tensor cores (gemm, bgemm, conv2d): gemm efficiency model
  kAttention,  // fused attention: attention efficiency model
  kVector,     // CUDA-core math (elementwise, reductions): vector_flops
  kHostLink,   // host <-> device copies over PCIe: bytes are link bytes
  kPeerLink,   // device <-> device copies over NVLink: bytes are link bytes
};

/// Tile geometry of a matmul-like kernel: `batch` independent problems, each producing a
/// rows x cols output reduced over `depth`.
struct MatmulGeometry {
  int64_t batch = 1, rows = 0, cols = 0, depth = 0;
};

/// Geometry of a fused attention kernel.
struct AttentionGeometry {
  int64_t batch_heads = 0;   // batch * query heads
  int64_t seq_q = 0, seq_kv = 0, head_dim = 0;
  bool causal = false;
};

struct KernelWork {
  double flops = 0;          // FLOPs executed (tensor or vector, per `unit`)
  double bytes = 0;          // compulsory HBM traffic (link traffic for copies)
  MathUnit unit = MathUnit::kVector;
  MatmulGeometry matmul;     // when unit == kTensor
  AttentionGeometry attention;  // when unit == kAttention
};

/// Fraction of the full seq_q x seq_kv score matrix a causal mask leaves (1 when not causal).
double CausalFraction(const AttentionGeometry& g);

/// Work of one call of `key`. Precondition: ValidateOpKey(key) passes (PROTEUS_CHECK otherwise).
KernelWork WorkOf(const OpKey& key);

}  // namespace proteus
