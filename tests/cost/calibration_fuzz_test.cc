// A calibration layer is user input: whatever values or names it holds, the cost model either
// prices every key with a finite positive time or refuses with a UserError naming the parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "common/costdb.h"
#include "common/error.h"
#include "simulator/cost/compute_cost.h"
#include "simulator/cost/cost_params.h"
#include "simulator/cost/gpu_spec.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

OpKey Key(const char* kind, std::map<std::string, int64_t> shape) {
  OpKey k;
  k.kind = kind;
  k.shape = std::move(shape);
  return k;
}

TEST(CalibrationFuzz, AnyLayerPricesFinitelyOrIsRefusedByName) {
  GpuSpec gpu = LoadGpuSpec("A100-SXM4-80GB");
  std::mt19937_64 rng(7);
  const double kOdd[] = {std::nan(""), -1.0, 0.0, 1e-300, 1e300, std::numeric_limits<double>::infinity()};
  std::vector<OpKey> keys = {Key("gemm", {{"m", 4096}, {"n", 4096}, {"k", 4096}}),
                             Key("gemm", {{"m", 1}, {"n", 7}, {"k", 3}}), Key("layernorm", {{"rows", 2048}, {"cols", 4096}}),
                             Key("attention", {{"batch", 1}, {"heads", 8}, {"kv_heads", 8}, {"seq_q", 512},
                                               {"seq_kv", 512}, {"head_dim", 64}})};
  keys[3].attrs["causal"] = "1";
  int refused = 0;
  for (int it = 0, n = fuzz::FuzzIterations(400); it < n; ++it) {
    Calibration cal;
    cal.gpu = gpu.name;
    for (const auto& spec : CostParamSpecs()) {
      if (rng() % 2) continue;
      double u = std::uniform_real_distribution<double>(-0.2, 1.2)(rng);
      double v = spec.lo + u * (spec.hi - spec.lo);
      if (rng() % 10 == 0) v = kOdd[rng() % 6];
      cal.params[std::string(spec.name)].value = v;
    }
    if (rng() % 20 == 0) cal.params["no_such_parameter"].value = 1;
    auto db = std::make_shared<CostDb>();
    db->calibrations.push_back(cal);
    try {
      ComputeCostModel model(gpu, db);
      for (const auto& k : keys) {
        double t = model.Estimate(k).seconds;
        EXPECT_TRUE(std::isfinite(t) && t > 0) << k.ToString();
      }
    } catch (const UserError& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find("calibration for A100-SXM4-80GB"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(refused, 0);  // the mutations do reach the checks
}

}  // namespace
}  // namespace proteus
