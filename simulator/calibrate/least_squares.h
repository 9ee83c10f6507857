// Bounded nonlinear least squares (Levenberg-Marquardt) for a handful of parameters, with the
// statistics a calibration reports: standard errors and identifiability.
//
// Model. Minimise S(x) = sum_i r_i(x)^2 over a box lo <= x <= hi. The solver works in unit
// coordinates u = (x - lo) / (hi - lo), so every parameter has the same scale whatever its unit.
// Each step solves (J^T J + lambda * diag(J^T J)) du = -J^T r, clamps u to [0, 1] and keeps the
// step only if S decreased (then lambda /= 3, else lambda *= 4). J comes from forward differences of
// step kStep in u (backwards at the upper bound). It stops when S improves by less than a relative
// 1e-6, the step is below 1e-5, or after max_iterations.
// Statistics at the solution (x*, J): sigma^2 = S / (n - p); Cov(u) = sigma^2 (J^T J)^-1;
// stderr(x_j) = (hi_j - lo_j) sqrt(Cov_jj). A parameter is "at its bound" when u_j is within 1e-4
// of 0 or 1.
//
// Identifiability, checked on J at the start point before fitting: a column whose norm is below
// 1e-9 means no residual depends on that parameter; a pair whose columns have |cosine| > 0.999
// means the data cannot tell the two apart (the fit would trade one for the other freely).
//
// Worked example: r(x) = {x - 1, x - 3} on [0, 10] -> x* = 2, S = 2, sigma^2 = 2 / 1, J = {1, 1}
// in x, so stderr = sqrt(2 / 2) = 1.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace proteus {

struct BoxParam {
  std::string name;
  double lo = 0, hi = 1;
};

struct LeastSquaresOptions {
  int max_iterations = 30;
  double step = 1e-3;  // forward-difference step in unit coordinates
  /// Called after each accepted or rejected step: (iteration, current S).
  std::function<void(int, double)> on_iteration;
  /// Check identifiability on the first Jacobian and stop there when it fails (see above).
  bool require_identifiable = false;
};

struct LeastSquaresResult {
  std::vector<double> x;           // the solution
  std::vector<double> stderr_x;    // standard errors (0 where not estimable: n <= p)
  std::vector<bool> at_bound;
  std::vector<double> residuals;   // r(x*)
  double sum_squares = 0;
  std::vector<std::vector<double>> jacobian;  // d r / d u at x* (unit coordinates; rows = residuals)
  int iterations = 0, evaluations = 0;
  /// Set (and nothing fitted) when require_identifiable and the parameters are not identifiable.
  std::optional<std::string> unidentifiable;
};

/// r(x) -> residual vector (its length must not change between calls).
using ResidualFn = std::function<std::vector<double>(const std::vector<double>&)>;

/// x in unit coordinates of `params` (clamped to [0, 1]) and back (not clamped).
std::vector<double> ToUnit(const std::vector<BoxParam>& params, const std::vector<double>& x);
std::vector<double> FromUnit(const std::vector<BoxParam>& params, const std::vector<double>& u);

/// Fits from `x0` (clamped into the box). Deterministic.
LeastSquaresResult FitLeastSquares(const ResidualFn& r, const std::vector<BoxParam>& params,
                                   std::vector<double> x0, const LeastSquaresOptions& options = {});

}  // namespace proteus
