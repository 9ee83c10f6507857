// Interpolation across measured shapes of one family (same kind, dtype, phase and attributes).
//
// Model. The roofline (cost/roofline.h) already carries the mechanisms that make time depend on
// shape (FLOPs, bytes, waves, tile padding, pipeline fill). What a measurement adds is how far
// the real kernel is from that model at that shape: its residual r = roofline / measured (the
// achieved fraction of the model's throughput). We interpolate log r, not time:
//   x      = (log2(1 + p) for each shape parameter p)            (sizes are compared by ratio)
//   log r  = sum_i w_i log r_i / sum_i w_i,  w_i = 1 / |x - x_i|^2 over the K nearest entries
//            (K = 2^dims, at most 8: the corners of the cell around the query)
//   time   = roofline(query) / r
// For a gemm this interpolates achieved FLOP/s relative to the wave/tile model; for a streaming
// kernel achieved bandwidth over bytes moved. A convex combination of neighbour residuals cannot
// overshoot them, so there is no wild extrapolation: outside the measured box the nearest
// residuals are carried (the roofline ratio scales the time), and beyond kMaxReach (4x past the
// largest or below the smallest measured value of any parameter) no interpolation is made and the
// caller falls back to the plain roofline.
//
// Worked example: gemm fwd measured at 1024^3 (r = 0.9) and 4096^3 (r = 0.8); the query 2048^3 is
// equidistant, so r = sqrt(0.9 * 0.8) = 0.849 and time = roofline(2048^3) / 0.849.
#pragma once

#include <optional>
#include <vector>

#include "common/costdb.h"
#include "simulator/cost/gpu_spec.h"

namespace proteus {

/// How far outside the measured range (factor per shape parameter) interpolation still answers.
inline constexpr double kMaxReach = 4.0;

/// Interpolated time (seconds) of `key` from `family` (ok entries of the same family, as
/// CostDb::Family returns them), or nullopt when no entry is usable or the key lies beyond reach.
std::optional<double> InterpolateTime(const OpKey& key, const std::vector<const OpEntry*>& family,
                                      const GpuSpec& gpu);

}  // namespace proteus
