#include "simulator/calibrate/least_squares.h"

#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

namespace proteus {
namespace {

TEST(LeastSquares, HeaderWorkedExample) {
  // r(x) = {x - 1, x - 3} on [0, 10] -> x* = 2, S = 2, stderr = 1.
  auto r = [](const std::vector<double>& x) { return std::vector<double>{x[0] - 1, x[0] - 3}; };
  LeastSquaresResult res = FitLeastSquares(r, {{"x", 0, 10}}, {7});
  ASSERT_EQ(res.x.size(), 1u);
  std::printf("x* = %.6f (2), S = %.6f (2), stderr = %.6f (1)\n", res.x[0], res.sum_squares, res.stderr_x[0]);
  EXPECT_NEAR(res.x[0], 2, 1e-4);
  EXPECT_NEAR(res.sum_squares, 2, 1e-6);
  EXPECT_NEAR(res.stderr_x[0], 1, 1e-3);
  EXPECT_FALSE(res.at_bound[0]);
  EXPECT_FALSE(res.unidentifiable);
  ASSERT_EQ(res.residuals.size(), 2u);
  EXPECT_NEAR(res.residuals[0], 1, 1e-4);
  EXPECT_GT(res.evaluations, 0);
}

TEST(LeastSquares, UnitCoordinatesRoundTripAndClamp) {
  std::vector<BoxParam> p = {{"a", 0, 10}, {"b", -1, 1}};
  auto u = ToUnit(p, {2.5, 0});
  EXPECT_NEAR(u[0], 0.25, 1e-12);
  EXPECT_NEAR(u[1], 0.5, 1e-12);
  auto x = FromUnit(p, u);
  EXPECT_NEAR(x[0], 2.5, 1e-12);
  EXPECT_NEAR(x[1], 0, 1e-12);
  // Values outside the box map to its edges.
  auto clamped = ToUnit(p, {15, -2});
  EXPECT_DOUBLE_EQ(clamped[0], 1);
  EXPECT_DOUBLE_EQ(clamped[1], 0);
}

TEST(LeastSquares, RecoversExponentialParameters) {
  // y = a exp(-b t) with a = 2.5, b = 0.7, noiseless.
  std::vector<double> t, y;
  for (int i = 0; i < 12; ++i) {
    t.push_back(0.25 * i);
    y.push_back(2.5 * std::exp(-0.7 * t.back()));
  }
  auto r = [&](const std::vector<double>& x) {
    std::vector<double> out;
    for (size_t i = 0; i < t.size(); ++i) out.push_back(x[0] * std::exp(-x[1] * t[i]) - y[i]);
    return out;
  };
  LeastSquaresOptions opt;
  opt.max_iterations = 100;
  LeastSquaresResult res = FitLeastSquares(r, {{"a", 0.1, 10}, {"b", 0.01, 5}}, {1, 2}, opt);
  std::printf("a = %.6f (2.5), b = %.6f (0.7), S = %.3g, %d iterations\n", res.x[0], res.x[1], res.sum_squares,
              res.iterations);
  EXPECT_NEAR(res.x[0], 2.5, 1e-3);
  EXPECT_NEAR(res.x[1], 0.7, 1e-3);
  EXPECT_LT(res.sum_squares, 1e-8);
  EXPECT_FALSE(res.at_bound[0]);
  EXPECT_FALSE(res.at_bound[1]);
  ASSERT_EQ(res.jacobian.size(), t.size());
  EXPECT_EQ(res.jacobian[0].size(), 2u);
}

TEST(LeastSquares, IsDeterministic) {
  auto r = [](const std::vector<double>& x) {
    return std::vector<double>{x[0] * x[1] - 3, x[0] + x[1] - 4, x[0] - 0.9};
  };
  LeastSquaresResult a = FitLeastSquares(r, {{"a", 0, 5}, {"b", 0, 5}}, {2, 2});
  LeastSquaresResult b = FitLeastSquares(r, {{"a", 0, 5}, {"b", 0, 5}}, {2, 2});
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.sum_squares, b.sum_squares);
  EXPECT_EQ(a.evaluations, b.evaluations);
}

TEST(LeastSquares, SolutionAtBoundIsReported) {
  // The unconstrained optimum x = -3 lies below the box [0, 10]: the fit stops at 0.
  auto r = [](const std::vector<double>& x) { return std::vector<double>{x[0] + 3, 2 * (x[0] + 3)}; };
  LeastSquaresResult res = FitLeastSquares(r, {{"x", 0, 10}}, {5});
  EXPECT_NEAR(res.x[0], 0, 1e-3);
  EXPECT_TRUE(res.at_bound[0]);
  // Start outside the box: clamped into it.
  LeastSquaresResult out = FitLeastSquares(r, {{"x", 0, 10}}, {-50});
  EXPECT_GE(out.x[0], 0);
  EXPECT_TRUE(out.at_bound[0]);
}

TEST(LeastSquares, UpperBoundIsReported) {
  auto r = [](const std::vector<double>& x) { return std::vector<double>{x[0] - 20, x[1] - 1}; };
  LeastSquaresResult res = FitLeastSquares(r, {{"x", 0, 10}, {"y", 0, 10}}, {5, 5});
  EXPECT_NEAR(res.x[0], 10, 1e-3);
  EXPECT_TRUE(res.at_bound[0]);
  EXPECT_NEAR(res.x[1], 1, 1e-3);
  EXPECT_FALSE(res.at_bound[1]);
}

TEST(LeastSquares, ParameterNoResidualDependsOnIsUnidentifiable) {
  auto r = [](const std::vector<double>& x) { return std::vector<double>{x[0] - 1, x[0] - 3, 2 * x[0]}; };
  LeastSquaresOptions opt;
  opt.require_identifiable = true;
  LeastSquaresResult res = FitLeastSquares(r, {{"used", 0, 10}, {"unused", 0, 10}}, {5, 5}, opt);
  ASSERT_TRUE(res.unidentifiable);
  std::printf("%s\n", res.unidentifiable->c_str());
  EXPECT_NE(res.unidentifiable->find("unused"), std::string::npos) << *res.unidentifiable;
  // Without the check the fit still runs.
  LeastSquaresResult free = FitLeastSquares(r, {{"used", 0, 10}, {"unused", 0, 10}}, {5, 5});
  EXPECT_FALSE(free.unidentifiable);
}

TEST(LeastSquares, CollinearParametersAreUnidentifiable) {
  // Every residual sees a and b only through a + 2b.
  auto r = [](const std::vector<double>& x) {
    double s = x[0] + 2 * x[1];
    return std::vector<double>{s - 1, 2 * s - 3, s * 0.5 - 0.2};
  };
  LeastSquaresOptions opt;
  opt.require_identifiable = true;
  // Bounds chosen so both unit columns are parallel: a in [0, 2], b in [0, 1].
  LeastSquaresResult res = FitLeastSquares(r, {{"alpha", 0, 2}, {"beta", 0, 1}}, {0.5, 0.5}, opt);
  ASSERT_TRUE(res.unidentifiable);
  std::printf("%s\n", res.unidentifiable->c_str());
  EXPECT_NE(res.unidentifiable->find("alpha"), std::string::npos) << *res.unidentifiable;
  EXPECT_NE(res.unidentifiable->find("beta"), std::string::npos) << *res.unidentifiable;
}

TEST(LeastSquares, TooFewMeasurementsGiveNoStandardErrors) {
  // n = p = 2: solvable exactly but sigma^2 = S / (n - p) is not estimable.
  auto r = [](const std::vector<double>& x) { return std::vector<double>{x[0] - 1, x[1] - 2}; };
  LeastSquaresResult res = FitLeastSquares(r, {{"a", 0, 5}, {"b", 0, 5}}, {3, 3});
  EXPECT_NEAR(res.x[0], 1, 1e-3);
  EXPECT_NEAR(res.x[1], 2, 1e-3);
  EXPECT_EQ(res.stderr_x[0], 0);
  EXPECT_EQ(res.stderr_x[1], 0);
  // n < p.
  auto r1 = [](const std::vector<double>& x) { return std::vector<double>{x[0] + x[1] - 1}; };
  LeastSquaresResult under = FitLeastSquares(r1, {{"a", 0, 5}, {"b", 0, 5}}, {3, 3});
  ASSERT_EQ(under.stderr_x.size(), 2u);
  EXPECT_EQ(under.stderr_x[0], 0);
  EXPECT_EQ(under.stderr_x[1], 0);
  for (double v : under.x) EXPECT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace proteus
