#include "simulator/cost/efficiency.h"

#include <algorithm>
#include <cmath>

namespace proteus {
namespace {

double CeilDiv(double a, double b) { return std::ceil(a / b); }

// Fraction of SM-slots busy when `ctas` equal CTAs run one per SM in waves.
double WaveEfficiency(double ctas, int sms) {
  if (ctas <= 0 || sms <= 0) return 1;
  double waves = CeilDiv(ctas, sms);
  return ctas / (waves * sms);
}

double Intensity(double mt, double nt) { return mt * nt / (mt + nt); }

double PlanEfficiency(const MatmulGeometry& g, int sms, double depth_overhead, double mt, double nt, int split) {
  double rows = static_cast<double>(std::max<int64_t>(1, g.rows));
  double cols = static_cast<double>(std::max<int64_t>(1, g.cols));
  double depth = static_cast<double>(std::max<int64_t>(1, g.depth));
  double tiles_r = CeilDiv(rows, mt), tiles_c = CeilDiv(cols, nt);
  double fill = rows * cols / (tiles_r * mt * tiles_c * nt);
  double ctas = static_cast<double>(std::max<int64_t>(1, g.batch)) * tiles_r * tiles_c * split;
  double kd = depth / split;
  double tile = std::min(1.0, Intensity(mt, nt) / Intensity(128, 128));
  return fill * WaveEfficiency(ctas, sms) * kd / (kd + depth_overhead) * tile;
}

}  // namespace

MatmulPlan PlanMatmul(const MatmulGeometry& g, DType dtype, const GpuSpec& gpu) {
  static constexpr int kTiles[][2] = {{128, 128}, {128, 64}, {64, 128}, {64, 64}};
  int sms = std::max(1, gpu.sm_count);
  MatmulPlan best;
  for (const auto& t : kTiles) {
    double tiles = static_cast<double>(std::max<int64_t>(1, g.batch)) *
                   CeilDiv(static_cast<double>(std::max<int64_t>(1, g.rows)), t[0]) *
                   CeilDiv(static_cast<double>(std::max<int64_t>(1, g.cols)), t[1]);
    // Split the reduction only to fill idle SMs, and keep each split at least 256 deep.
    int max_split = static_cast<int>(std::clamp(std::min(std::floor(sms / tiles),
                                                         std::floor(static_cast<double>(g.depth) / 256)),
                                                1.0, 64.0));
    for (int s = 1; s <= max_split; ++s) {
      double eff = PlanEfficiency(g, sms, gpu.gemm_depth_overhead, t[0], t[1], s);
      if (eff > best.efficiency) best = {t[0], t[1], s, eff};
    }
  }
  best.efficiency *= gpu.GemmEfficiency(dtype);
  return best;
}

double AttentionEfficiency(const AttentionGeometry& g, const GpuSpec& gpu) {
  double seq_q = static_cast<double>(std::max<int64_t>(1, g.seq_q));
  double seq_kv = static_cast<double>(std::max<int64_t>(1, g.seq_kv));
  double ctas = static_cast<double>(std::max<int64_t>(1, g.batch_heads)) * CeilDiv(seq_q, kAttentionTile);
  // Key tiles of useful work per query tile, and the tiles it pays for: masked diagonal tiles run
  // whole (half wasted on average) and every query tile has its fixed prologue/epilogue.
  double useful = seq_kv * CausalFraction(g) / kAttentionTile;
  double paid = useful + (g.causal ? 0.5 : 0) + kRowOverheadTiles;
  return gpu.AttentionEfficiency() * WaveEfficiency(ctas, std::max(1, gpu.sm_count)) * useful / paid;
}

double MemoryEfficiency(double bytes, const GpuSpec& gpu) {
  double ceiling = gpu.efficiency.memory;
  if (bytes <= 0) return ceiling;
  return ceiling * bytes / (bytes + ceiling * gpu.mem_bw * kMemoryLatency);
}

}  // namespace proteus
