#include "simulator/calibrate/least_squares.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace proteus {
namespace {

using Matrix = std::vector<std::vector<double>>;  // row-major

double SumSquares(const std::vector<double>& r) {
  double s = 0;
  for (double v : r) s += v * v;
  return s;
}

std::vector<double> ToX(const std::vector<BoxParam>& p, const std::vector<double>& u) {
  std::vector<double> x(u.size());
  for (size_t j = 0; j < u.size(); ++j) x[j] = p[j].lo + u[j] * (p[j].hi - p[j].lo);
  return x;
}

std::vector<double> ToU(const std::vector<BoxParam>& p, const std::vector<double>& x) {
  std::vector<double> u(x.size());
  for (size_t j = 0; j < x.size(); ++j) u[j] = std::clamp((x[j] - p[j].lo) / (p[j].hi - p[j].lo), 0.0, 1.0);
  return u;
}

struct Evaluator {
  const ResidualFn& r;
  const std::vector<BoxParam>& params;
  int evaluations = 0;
  std::vector<double> operator()(const std::vector<double>& u) {
    ++evaluations;
    return r(ToX(params, u));
  }
};

// J[i][j] = d r_i / d u_j by a forward difference (backward at the upper bound).
Matrix Jacobian(Evaluator& eval, const std::vector<double>& u, const std::vector<double>& r0, double step) {
  Matrix jac(r0.size(), std::vector<double>(u.size(), 0));
  for (size_t j = 0; j < u.size(); ++j) {
    std::vector<double> v = u;
    double h = v[j] + step <= 1 ? step : -step;
    v[j] += h;
    std::vector<double> r1 = eval(v);
    PROTEUS_CHECK(r1.size() == r0.size(), "residual vector changed length");
    for (size_t i = 0; i < r0.size(); ++i) jac[i][j] = (r1[i] - r0[i]) / h;
  }
  return jac;
}

Matrix Normal(const Matrix& jac, size_t p) {
  Matrix a(p, std::vector<double>(p, 0));
  for (const auto& row : jac)
    for (size_t j = 0; j < p; ++j)
      for (size_t k = 0; k < p; ++k) a[j][k] += row[j] * row[k];
  return a;
}

// Solves a x = b by Gaussian elimination with partial pivoting; nullopt when singular.
std::optional<std::vector<double>> Solve(Matrix a, std::vector<double> b) {
  size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    if (std::fabs(a[pivot][c]) < 1e-300) return std::nullopt;
    std::swap(a[c], a[pivot]);
    std::swap(b[c], b[pivot]);
    for (size_t r = c + 1; r < n; ++r) {
      double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t c = n; c-- > 0;) {
    double s = b[c];
    for (size_t k = c + 1; k < n; ++k) s -= a[c][k] * x[k];
    x[c] = s / a[c][c];
  }
  return x;
}

std::optional<Matrix> Inverse(const Matrix& a) {
  size_t n = a.size();
  Matrix inv(n, std::vector<double>(n, 0));
  for (size_t c = 0; c < n; ++c) {
    std::vector<double> e(n, 0);
    e[c] = 1;
    auto col = Solve(a, e);
    if (!col) return std::nullopt;
    for (size_t r = 0; r < n; ++r) inv[r][c] = (*col)[r];
  }
  return inv;
}

std::optional<std::string> Unidentifiable(const Matrix& jac, const std::vector<BoxParam>& params) {
  size_t p = params.size();
  Matrix a = Normal(jac, p);
  std::string dead;
  for (size_t j = 0; j < p; ++j)
    if (std::sqrt(a[j][j]) < 1e-9) dead += (dead.empty() ? "" : ", ") + params[j].name;
  if (!dead.empty()) return "no run depends on " + dead;
  for (size_t j = 0; j < p; ++j)
    for (size_t k = j + 1; k < p; ++k) {
      double cosine = a[j][k] / std::sqrt(a[j][j] * a[k][k]);
      if (std::fabs(cosine) > 0.999)
        return params[j].name + " and " + params[k].name + " change every run in the same proportion (the runs "
               "cannot tell them apart)";
    }
  return std::nullopt;
}

}  // namespace

std::vector<double> ToUnit(const std::vector<BoxParam>& params, const std::vector<double>& x) { return ToU(params, x); }
std::vector<double> FromUnit(const std::vector<BoxParam>& params, const std::vector<double>& u) { return ToX(params, u); }

LeastSquaresResult FitLeastSquares(const ResidualFn& r, const std::vector<BoxParam>& params, std::vector<double> x0,
                                   const LeastSquaresOptions& options) {
  PROTEUS_CHECK(params.size() == x0.size() && !params.empty(), "one start value per parameter");
  Evaluator eval{r, params};
  size_t p = params.size();
  std::vector<double> u = ToU(params, x0);
  std::vector<double> res = eval(u);
  double s = SumSquares(res);
  double lambda = 1e-2;
  LeastSquaresResult out;
  if (options.require_identifiable && res.size() <= p) {
    out.unidentifiable = std::to_string(res.size()) + " measurements cannot identify " + std::to_string(p) +
                         " parameters (need more measurements than parameters)";
    return out;
  }
  Matrix jac = Jacobian(eval, u, res, options.step);
  if (options.require_identifiable) {
    out.unidentifiable = Unidentifiable(jac, params);
    if (out.unidentifiable) return out;
  }
  bool jac_stale = false;  // J belongs to an earlier point than u
  for (int it = 0; it < options.max_iterations; ++it) {
    out.iterations = it + 1;
    Matrix a = Normal(jac, p);
    std::vector<double> g(p, 0);
    for (size_t i = 0; i < res.size(); ++i)
      for (size_t j = 0; j < p; ++j) g[j] -= jac[i][j] * res[i];
    Matrix damped = a;
    for (size_t j = 0; j < p; ++j) damped[j][j] += lambda * std::max(a[j][j], 1e-12);
    auto du = Solve(damped, g);
    if (!du) break;
    std::vector<double> v = u;
    double moved = 0;
    for (size_t j = 0; j < p; ++j) {
      v[j] = std::clamp(u[j] + (*du)[j], 0.0, 1.0);
      moved = std::max(moved, std::fabs(v[j] - u[j]));
    }
    if (moved < 1e-5) break;
    std::vector<double> trial = eval(v);
    double st = SumSquares(trial);
    if (options.on_iteration) options.on_iteration(it + 1, std::min(s, st));
    if (st < s) {
      bool converged = s - st < 1e-6 * s;
      u = v, res = std::move(trial), s = st;
      lambda = std::max(lambda / 3, 1e-7);
      jac_stale = true;
      if (converged) break;
      jac = Jacobian(eval, u, res, options.step);
      jac_stale = false;
    } else {
      lambda *= 4;
      if (lambda > 1e8) break;
    }
  }
  if (jac_stale) jac = Jacobian(eval, u, res, options.step);
  out.jacobian = jac;
  out.x = ToX(params, u);
  out.residuals = res;
  out.sum_squares = s;
  out.stderr_x.assign(p, 0);
  out.at_bound.resize(p);
  for (size_t j = 0; j < p; ++j) out.at_bound[j] = u[j] < 1e-4 || u[j] > 1 - 1e-4;
  if (res.size() > p) {
    double sigma2 = s / static_cast<double>(res.size() - p);
    if (auto inv = Inverse(Normal(jac, p)))
      for (size_t j = 0; j < p; ++j)
        out.stderr_x[j] = (params[j].hi - params[j].lo) * std::sqrt(std::max(0.0, sigma2 * (*inv)[j][j]));
  }
  out.evaluations = eval.evaluations;
  return out;
}

}  // namespace proteus
