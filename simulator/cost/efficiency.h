// Size-dependent efficiency of kernels: the fraction of a GPU's peak a kernel of a given size
// reaches. The large-size ceilings come from the GPU spec (calibrated to public best-case
// measurements); this file models why smaller problems reach less.
//
// Matmul (tensor cores). A kernel covers its rows x cols output with CTA tiles (Mt x Nt) and runs
// them in waves of one tile per SM:
//   eff = ceiling * fill * waves * depth * tile
//   fill  = rows*cols / (ceil(rows/Mt)*Mt * ceil(cols/Nt)*Nt)         (padding of edge tiles)
//   waves = ctas / (ceil(ctas / sms) * sms)                           (last wave partly idle)
//   depth = kd / (kd + D), D = gpu.gemm_depth_overhead (default 128)  (pipeline fill + epilogue per tile)
//   tile  = min(1, I(Mt,Nt) / I(128,128)), I = Mt*Nt / (Mt+Nt)        (operand feed per FLOP)
// Small problems that leave SMs idle are split along the reduction (split-K, as cuBLAS does):
// s = min(sms / tiles, depth / 256) splits, ctas = tiles * s, kd = depth / s. The kernel
// picks the tile in {128x128, 128x64, 64x128, 64x64} and split with the best efficiency, as a
// library heuristic would.
//   Worked example, H100 (132 SMs, ceiling 0.803), bf16 gemm 8192^3: 128x128 tiles, 4096 ctas in
//   32 waves (31.03 full) -> waves 0.970, depth 8192/8320 = 0.985 -> eff 0.803*0.970*0.985 = 0.767.
//
// Attention (FlashAttention-style): one CTA per 128 query rows of one head walks the key tiles
// (128 keys each) its rows may see:
//   eff    = ceiling * waves * useful / (useful + diag + kRowOverheadTiles)
//   useful = seq_kv * causal_fraction / 128   (key tiles of unmasked work per query tile)
//   diag   = 0.5 when causal (diagonal tiles run whole, half of them masked), else 0
// e.g. causal seq 512: useful 2, paid 2 + 0.5 + 1.5 = 4 -> half the ceiling (FA2 on H100: 163 of
// 338 at 16k); non-causal 512: 4 / 5.5 = 0.73 (248 of 338).
//
// Memory-bound kernels: time = bytes / (ceiling * bw) + kMemoryLatency; the fixed latency is the
// first round trip to HBM before the stream flows (Little's law), so
//   eff(bytes) = ceiling * bytes / (bytes + ceiling * bw * kMemoryLatency).
#pragma once

#include "common/dtype.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/cost/op_work.h"

namespace proteus {

/// Rows (queries) and columns (keys) of a fused attention tile (FlashAttention-2, head dim 128).
inline constexpr double kAttentionTile = 128;
/// Fixed work of one query tile (load Q, rescale and store O, log-sum-exp) in key tiles: fitted
/// once to the shape of the FlashAttention-2 curves (A100 and H100 alike, seq 512..16k;
/// docs/cost-model.md), i.e. 192 keys.
inline constexpr double kRowOverheadTiles = 1.5;
/// A loaded HBM round trip (several hundred core cycles; GPU microbenchmark studies).
inline constexpr double kMemoryLatency = 0.5e-6;

struct MatmulPlan {
  int tile_rows = 128, tile_cols = 128, split_k = 1;
  double efficiency = 0;    // fraction of the dtype's peak
};

/// Best tile/split plan and its efficiency for a matmul of `g` in `dtype` on `gpu`.
MatmulPlan PlanMatmul(const MatmulGeometry& g, DType dtype, const GpuSpec& gpu);
/// Fraction of the attention dtype's peak a fused attention kernel of `g` reaches.
double AttentionEfficiency(const AttentionGeometry& g, const GpuSpec& gpu);
/// Effective fraction of HBM bandwidth a stream of `bytes` reaches (latency included).
double MemoryEfficiency(double bytes, const GpuSpec& gpu);

}  // namespace proteus
