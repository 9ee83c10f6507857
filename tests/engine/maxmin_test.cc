#include "simulator/engine/maxmin.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "simulator/engine/maxmin_reference.h"

namespace proteus {
namespace {

using Route = std::vector<MaxMinSolver::ConstraintId>;

// Prints the hand-computed expectation beside the solver's answer, SimGrid style.
void ExpectRate(const char* what, double expected, double got) {
  std::cout << "  " << what << ": expected " << expected << ", got " << got << "\n";
  EXPECT_NEAR(got, expected, 1e-9 * std::max(1.0, std::abs(expected))) << what;
}

TEST(MaxMin, WorkedExampleOfTheHeader) {
  // Links a (10) and b (4); flow 1 uses a,b; flow 2 uses a; flow 3 uses b with bound 1.
  MaxMinSolver s({10, 4});
  auto f1 = s.AddVariable(Route{0, 1}, kUnbounded);
  auto f2 = s.AddVariable(Route{0}, kUnbounded);
  auto f3 = s.AddVariable(Route{1}, 1);
  s.Solve();
  ExpectRate("flow 3 = its bound", 1, s.Rate(f3));
  ExpectRate("flow 1 = b's rest 4 - 1", 3, s.Rate(f1));
  ExpectRate("flow 2 = a's rest 10 - 3", 7, s.Rate(f2));
}

TEST(MaxMin, ThreeFlowsOnATwoLinkChain) {
  // Classic parking lot: links a, b of capacity 1; flow 0 crosses both, flow 1 uses a, flow 2 uses b.
  // Each link is shared by two flows: every flow gets 1/2.
  MaxMinSolver s({1, 1});
  auto f0 = s.AddVariable(Route{0, 1}, kUnbounded);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  auto f2 = s.AddVariable(Route{1}, kUnbounded);
  s.Solve();
  ExpectRate("long flow = 1/2", 0.5, s.Rate(f0));
  ExpectRate("short flow on a = 1/2", 0.5, s.Rate(f1));
  ExpectRate("short flow on b = 1/2", 0.5, s.Rate(f2));
}

TEST(MaxMin, UnequalChainGivesTheSlackToTheShortFlow) {
  // a = 2, b = 1: b is the bottleneck of flows 0 and 2 (1/2 each); flow 1 gets a's rest 2 - 1/2.
  MaxMinSolver s({2, 1});
  auto f0 = s.AddVariable(Route{0, 1}, kUnbounded);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  auto f2 = s.AddVariable(Route{1}, kUnbounded);
  s.Solve();
  ExpectRate("long flow = b/2", 0.5, s.Rate(f0));
  ExpectRate("short flow on a = 2 - 0.5", 1.5, s.Rate(f1));
  ExpectRate("short flow on b = b/2", 0.5, s.Rate(f2));
}

TEST(MaxMin, BoundBelowFairShareFreesBandwidth) {
  // One link of 100; flow 0 capped at 10 < 50: flow 1 gets 100 - 10 = 90.
  MaxMinSolver s({100});
  auto f0 = s.AddVariable(Route{0}, 10);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  s.Solve();
  ExpectRate("capped flow = 10", 10, s.Rate(f0));
  ExpectRate("other flow = 100 - 10", 90, s.Rate(f1));
}

TEST(MaxMin, BoundAboveFairShareIsNotReached) {
  MaxMinSolver s({100});
  auto f0 = s.AddVariable(Route{0}, 80);
  auto f1 = s.AddVariable(Route{0}, 80);
  s.Solve();
  ExpectRate("flow 0 = 100 / 2", 50, s.Rate(f0));
  ExpectRate("flow 1 = 100 / 2", 50, s.Rate(f1));
}

TEST(MaxMin, RepeatedLinkCountsTwice) {
  // A route crossing link 0 twice (out and back through a switch) uses it twice: 2 r0 + r1 <= 90
  // with r0 = r1 at the fill level -> 30 each.
  MaxMinSolver s({90});
  auto f0 = s.AddVariable(Route{0, 0}, kUnbounded);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  s.Solve();
  ExpectRate("twice-crossing flow = 90 / 3", 30, s.Rate(f0));
  ExpectRate("once-crossing flow = 90 / 3", 30, s.Rate(f1));
}

TEST(MaxMin, FreeVariables) {
  MaxMinSolver s({5});
  auto free_unbounded = s.AddVariable(Route{}, kUnbounded);
  auto free_bounded = s.AddVariable(Route{}, 3);
  s.Solve();
  EXPECT_TRUE(std::isinf(s.Rate(free_unbounded)));
  ExpectRate("bounded flow without links = its bound", 3, s.Rate(free_bounded));
}

TEST(MaxMin, RemovalReturnsBandwidth) {
  MaxMinSolver s({12});
  auto f0 = s.AddVariable(Route{0}, kUnbounded);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  auto f2 = s.AddVariable(Route{0}, kUnbounded);
  s.Solve();
  ExpectRate("three flows: 12 / 3", 4, s.Rate(f0));
  s.RemoveVariable(f1);
  s.Solve();
  ExpectRate("after removal: 12 / 2", 6, s.Rate(f0));
  ExpectRate("after removal: 12 / 2", 6, s.Rate(f2));
  EXPECT_EQ(s.NumActive(), 2);
}

TEST(MaxMin, SetBoundReshares) {
  MaxMinSolver s({12});
  auto f0 = s.AddVariable(Route{0}, kUnbounded);
  auto f1 = s.AddVariable(Route{0}, kUnbounded);
  s.Solve();
  s.SetBound(f0, 2);
  s.Solve();
  ExpectRate("re-bounded flow = 2", 2, s.Rate(f0));
  ExpectRate("other flow = 12 - 2", 10, s.Rate(f1));
}

TEST(MaxMin, OnlyTouchedComponentIsSolvedAndReported) {
  // Two disjoint links: a change on link 1 must not re-solve or report link 0's flow.
  MaxMinSolver s({10, 10});
  auto a = s.AddVariable(Route{0}, kUnbounded);
  s.AddVariable(Route{1}, kUnbounded);
  s.Solve();
  EXPECT_EQ(s.Changed().size(), 2u);
  int64_t vars_before = s.stats().vars_solved;
  auto c = s.AddVariable(Route{1}, kUnbounded);
  s.Solve();
  EXPECT_EQ(s.stats().vars_solved - vars_before, 2);  // the two flows of link 1 only
  std::vector<MaxMinSolver::VarId> changed(s.Changed().begin(), s.Changed().end());
  EXPECT_EQ(std::count(changed.begin(), changed.end(), a), 0);
  EXPECT_EQ(std::count(changed.begin(), changed.end(), c), 1);
  ExpectRate("untouched flow keeps 10", 10, s.Rate(a));
  ExpectRate("new flow shares link 1: 10 / 2", 5, s.Rate(c));
}

TEST(MaxMin, SolveWithoutChangesIsNoop) {
  MaxMinSolver s({10});
  s.AddVariable(Route{0}, kUnbounded);
  s.Solve();
  s.Solve();
  EXPECT_TRUE(s.Changed().empty());
  EXPECT_EQ(s.stats().solves, 1);
}

// Max-min optimality, checked from its definition rather than by re-running an algorithm: rates are
// feasible, and every variable is at its bound or crosses a saturated link on which no other
// variable has a larger rate (its bottleneck).
void CheckMaxMinOptimal(const MaxMinProblem& p, const std::vector<double>& rate) {
  std::vector<double> load(p.capacities.size(), 0);
  std::vector<double> max_rate_on(p.capacities.size(), 0);
  for (size_t v = 0; v < rate.size(); ++v) {
    for (int32_t c : p.routes[v]) {
      load[c] += rate[v];
      max_rate_on[c] = std::max(max_rate_on[c], rate[v]);
    }
  }
  for (size_t c = 0; c < load.size(); ++c) EXPECT_LE(load[c], p.capacities[c] * (1 + 1e-9));
  for (size_t v = 0; v < rate.size(); ++v) {
    double tol = 1e-9 * std::max(1.0, rate[v]);
    if (std::isinf(rate[v]) || rate[v] >= p.bounds[v] - tol) continue;
    bool has_bottleneck = false;
    for (int32_t c : p.routes[v]) {
      bool saturated = load[c] >= p.capacities[c] * (1 - 1e-9);
      if (saturated && rate[v] >= max_rate_on[c] - tol) has_bottleneck = true;
    }
    EXPECT_TRUE(has_bottleneck) << "variable " << v << " could grow";
  }
}

// A seeded random sequence of additions (half the steps), removals and re-bounds on one solver, over
// 2..13 links of capacity 1..100 and routes of 0..3 hops (repeats allowed).
class RandomSequence {
 public:
  explicit RandomSequence(uint32_t seed) : rng_(seed) {}

  std::vector<double> NewCapacities() {
    live_.clear();
    int num_links = 2 + static_cast<int>(rng_() % 12);
    std::vector<double> caps(num_links);
    for (double& cap : caps) cap = 1 + static_cast<double>(rng_() % 100);
    num_links_ = num_links;
    return caps;
  }

  /// One change to `s`; true when the caller should solve now (two steps in three).
  bool Step(MaxMinSolver& s) {
    unsigned action = rng_() % 10;
    if (action < 5 || live_.empty()) {
      Add(s);
    } else if (action < 8) {
      size_t i = rng_() % live_.size();
      s.RemoveVariable(live_[i]);
      live_.erase(live_.begin() + static_cast<long>(i));
    } else {
      auto v = live_[rng_() % live_.size()];
      s.SetBound(v, rng_() % 2 ? static_cast<double>(1 + rng_() % 60) : kUnbounded);
    }
    return rng_() % 3 != 0;  // let changes pile up between some solves
  }

  /// The live variables as a problem for the reference, in the order of Rates().
  MaxMinProblem Problem(const MaxMinSolver& s, std::vector<double> caps) const {
    MaxMinProblem p{std::move(caps), {}, {}};
    for (auto v : live_) {
      p.routes.push_back(routes_[v]);
      p.bounds.push_back(s.Bound(v));
    }
    return p;
  }

  std::vector<double> Rates(const MaxMinSolver& s) const {
    std::vector<double> rates;
    for (auto v : live_) rates.push_back(s.Rate(v));
    return rates;
  }

 private:
  void Add(MaxMinSolver& s) {
    Route route;
    int hops = static_cast<int>(rng_() % 4);
    for (int h = 0; h < hops; ++h) route.push_back(static_cast<int32_t>(rng_() % num_links_));
    double bound = rng_() % 3 == 0 ? static_cast<double>(1 + rng_() % 60) : kUnbounded;
    auto v = s.AddVariable(route, bound);
    if (routes_.size() <= static_cast<size_t>(v)) routes_.resize(v + 1);
    routes_[v] = route;
    live_.push_back(v);
  }

  std::mt19937 rng_;
  int num_links_ = 1;
  std::vector<MaxMinSolver::VarId> live_;
  std::vector<Route> routes_;  // by variable id
};

void CrossCheckRandomSequences(uint32_t seed) {
  RandomSequence seq(seed);
  for (int round = 0; round < 40; ++round) {
    std::vector<double> caps = seq.NewCapacities();
    MaxMinSolver s(caps);
    for (int step = 0; step < 60; ++step) {
      if (!seq.Step(s)) continue;
      s.Solve();
      MaxMinProblem p = seq.Problem(s, caps);
      std::vector<double> expected = SolveMaxMinReference(p);
      std::vector<double> got = seq.Rates(s);
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isinf(expected[i])) {
          EXPECT_TRUE(std::isinf(got[i]));
        } else {
          EXPECT_NEAR(got[i], expected[i], 1e-9 * std::max(1.0, expected[i])) << "round " << round << " step " << step;
        }
      }
      CheckMaxMinOptimal(p, got);
    }
  }
}

// FNV-1a over the bit patterns of every live rate after every Solve() of a seeded sequence.
uint64_t RateFingerprint(uint32_t seed) {
  uint64_t hash = 1469598103934665603ull;
  RandomSequence seq(seed);
  for (int round = 0; round < 40; ++round) {
    MaxMinSolver s(seq.NewCapacities());
    for (int step = 0; step < 60; ++step) {
      if (!seq.Step(s)) continue;
      s.Solve();
      for (double rate : seq.Rates(s)) {
        uint64_t bits;
        std::memcpy(&bits, &rate, sizeof bits);
        for (int byte = 0; byte < 8; ++byte) hash = (hash ^ ((bits >> (8 * byte)) & 0xff)) * 1099511628211ull;
      }
    }
  }
  return hash;
}

TEST(MaxMin, RatesArePinnedBitForBit) {
  // Every bit of every rate of a seeded sequence, as the solver gives them at commit df157dc. A change
  // of the solver's floating-point operations or their order shows here first.
  EXPECT_EQ(RateFingerprint(7), 0xea80214057d001c8ull);
}

TEST(MaxMin, IncrementalMatchesReferenceOnRandomSequences) {
  CrossCheckRandomSequences(20240611);
}

}  // namespace
}  // namespace proteus
