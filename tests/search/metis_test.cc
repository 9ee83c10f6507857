// Metis mode: the reader's errors, the cost model on a hand-computed plan, and the pruned search
// against the exhaustive one on small inputs.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "simulator/search/metis_search.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

// A profile in Metis' format: `block_ms` per transformer layer, layers 0 and N-1 cheaper.
std::string ProfileText(int layers, double block_ms, double mem_mb, double fb_extra_ms = 1.0) {
  std::string times = "0.5", mems = std::to_string(mem_mb), params = "1000000";
  double sum = 0.5;
  for (int l = 1; l < layers; ++l) {
    double t = l == layers - 1 ? 0.25 : block_ms;
    sum += t;
    times += "," + std::to_string(t);
    mems += "," + std::to_string(mem_mb);
    params += ",500000";
  }
  return R"({"model": {"num_layers": )" + std::to_string(layers) + R"(, "parameters": {"parameters_per_layer_bytes": [)" +
         params + R"(]}}, "execution_time": {"forward_backward_time_ms": )" + std::to_string(sum + fb_extra_ms) +
         R"(, "batch_generator_time_ms": 0.5, "optimizer_time_ms": 4, "layer_compute_total_ms": [)" + times +
         R"(]}, "execution_memory": {"layer_memory_total_mb": [)" + mems + "]}}";
}

MetisProfiles SmallProfiles(int layers) {
  MetisProfiles out;
  for (const std::string type : {"A100", "V100"})
    for (int tp : {1, 2, 4})
      for (int bs : {1, 2, 4}) {
        double speed = type == "A100" ? 1.0 : 2.5;
        out.by_type[type][{tp, bs}] = ParseMetisProfile(ProfileText(layers, speed * bs / tp * (1 + 0.1 * tp), 100.0 * bs / tp),
                                                        "p.json", &out.num_layers, &out.param_bytes, &out.optimizer_ms,
                                                        &out.batch_generator_ms);
      }
  return out;
}

MetisCluster SmallCluster(int nodes_per_type, int v100_gb = 32) {
  std::string hosts, cluster = "{";
  for (int i = 0; i < 2 * nodes_per_type; ++i) {
    bool a100 = i < nodes_per_type;
    std::string ip = "h" + std::to_string(i);
    hosts += ip + " slots=4\n";
    cluster += std::string(i ? "," : "") + "\"" + ip + "\": {\"instance_type\": \"" + (a100 ? "A100" : "V100") +
               "\", \"inter_bandwidth\": 100, \"intra_bandwidth\": " + (a100 ? "300" : "150") +
               ", \"memory\": " + std::to_string(a100 ? 80 : v100_gb) + "}";
  }
  return ParseMetisCluster(hosts, "hostfile", cluster + "}", "clusterfile.json");
}

TEST(MetisCost, OneStageByHand) {
  MetisProfiles profiles = SmallProfiles(4);
  MetisCluster cluster = SmallCluster(1);  // 4 A100 then 4 V100
  MetisCostModel model(profiles, cluster, {}, 32, 4);
  // Both types in one stage of 8, dp 8 tp 1, 4 micro-batches of 8: each replica gets one sample.
  // Only A100 first: a 4-GPU stage is refused (the stages must cover every GPU), so price 8 GPUs.
  MetisPlan plan{{"A100", "V100"}, {{8, 8, 1, 4}}, 4};
  auto cost = model.Cost(plan);
  ASSERT_TRUE(cost);
  // Split of 8 samples over 8 replicas: A100 (1.1 ms blocks) 1 / 3.2 ms faster than V100
  // (2.75 ms blocks): shares 8 x (1/3.2)/(4/3.2 + 4/6.5) -> 1.34 -> 1 each, remainder 4 to the A100s
  // (larger fractions): A100 2 = slices {2}, V100 1 = {1}. len = max(A100 tp1 bs2, V100 tp1 bs1).
  double a100_bs2 = 0.5 + 2 * 2.2 + 0.25, v100_bs1 = 0.5 + 2 * 2.75 + 0.25;
  double len = std::max(a100_bs2, v100_bs1);
  double fb = 1.0;  // forward_backward - sum(layers), the same in every profile here
  double update = 8.0 / 1 * 4 / 4;
  // dp over 8 ranks on 2 nodes: slowest intra bandwidth 150 x 2^20, params: embedding 1e6 + head 5e5 + 2 blocks x 5e5.
  double dp = 2.0 * 7 / (8 * 150.0 * 1048576) * 2.5e6;
  double expected = 3 * len + len + 4 * fb + update + dp + 4 * 0.5;
  EXPECT_NEAR(*cost, expected, 1e-9) << "hand: 4 x " << len << " + " << 4 * fb << " + " << update << " + " << dp << " + 2";
}

TEST(MetisSearch, PrunedFindsTheExhaustiveBest) {
  for (int layers : {4, 6}) {
    for (int v100_gb : {32, 1}) {  // 1 GB: memory binds and cuts stages
      MetisProfiles profiles = SmallProfiles(layers);
      MetisCluster cluster = SmallCluster(1, v100_gb);
      MetisCostModel model(profiles, cluster, {}, 16, 4);
      MetisSearchOptions all;
      all.exhaustive = true;
      MetisSearchResult full = SearchMetisPlans(model, all);
      MetisSearchResult pruned = SearchMetisPlans(model, MetisSearchOptions{});
      ASSERT_TRUE(full.best) << layers;
      ASSERT_TRUE(pruned.best);
      EXPECT_DOUBLE_EQ(pruned.best_cost_ms, full.best_cost_ms) << layers << " layers, V100 " << v100_gb << " GB";
      EXPECT_LT(pruned.steps, full.steps);
      // The best plan's cost is the cost model's, priced again from scratch.
      EXPECT_DOUBLE_EQ(*model.Cost(*pruned.best), pruned.best_cost_ms);
    }
  }
}

TEST(MetisReader, ErrorsNameFileAndField) {
  int layers;
  std::vector<double> params;
  double opt, bg;
  auto parse = [&](const std::string& text) { ParseMetisProfile(text, "DeviceType.A100_tp1_bs1.json", &layers, &params, &opt, &bg); };
  EXPECT_NO_THROW(parse(ProfileText(4, 1, 10)));
  auto expect = [&](std::string text, const std::string& needle) {
    try {
      parse(text);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("DeviceType.A100_tp1_bs1.json"), std::string::npos) << e.what();
    }
  };
  expect("{", "line");
  expect(R"({"model": {}})", "execution_time");
  std::string good = ProfileText(4, 1, 10);
  std::string bad_fb = good;
  bad_fb.replace(bad_fb.find("forward_backward_time_ms\": ") + 27, 1, "0");
  expect(bad_fb.substr(0, bad_fb.find(',', bad_fb.find("forward_backward"))) + ", \"batch_generator_time_ms\": 0.5" +
             bad_fb.substr(bad_fb.find(", \"optimizer")),
         "forward_backward_time_ms");
  std::string short_mem = good;
  short_mem.replace(short_mem.find("layer_memory_total_mb\": [") + 25, 0, "1,");
  expect(short_mem, "layer_memory_total_mb");
  std::string negative = good;
  negative.replace(negative.find("layer_compute_total_ms\": [") + 26, 0, "-");
  expect(negative, "layer_compute_total_ms");

  auto cluster_error = [](const std::string& hosts, const std::string& json, const std::string& needle) {
    try {
      ParseMetisCluster(hosts, "hostfile", json, "clusterfile.json");
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::string one = R"({"a": {"instance_type": "A100", "inter_bandwidth": 1, "intra_bandwidth": 2, "memory": 80}})";
  EXPECT_EQ(ParseMetisCluster("a slots=4\n", "hostfile", one, "c.json").TotalGpus(), 4);
  EXPECT_EQ(ParseMetisCluster("a 8\n", "hostfile", one, "c.json").TotalGpus(), 8);  // README's spelling
  cluster_error("a slots=x\n", one, "hostfile: line 1");
  cluster_error("b slots=4\n", one, "no entry for host 'b'");
  cluster_error("", one, "no hosts");
  cluster_error("a slots=4\n", R"({"a": {"instance_type": "A100", "inter_bandwidth": 1, "intra_bandwidth": 2}})",
                "clusterfile.json: a.memory");
  cluster_error("a slots=4\n", R"({"a": {"instance_type": "A100", "inter_bandwidth": 1, "intra_bandwidth": 0, "memory": 1}})",
                "intra_bandwidth");
}

// Random bytes and random edits of a good profile and clusterfile: a UserError or a result, never
// another exception. 400 cases (milliseconds), times PROTEUS_FUZZ_SCALE for a soak.
TEST(MetisReader, FuzzNeverCrashes) {
  std::mt19937 rng(7);
  std::string good = ProfileText(5, 1, 10);
  std::string one = R"({"a": {"instance_type": "A100", "inter_bandwidth": 1, "intra_bandwidth": 2, "memory": 80}})";
  for (int i = 0, n = fuzz::FuzzIterations(400); i < n; ++i) {
    std::string p = good, c = one;
    for (int k = 0; k < 1 + i % 4; ++k) {
      p[rng() % p.size()] = static_cast<char>(rng() % 128);
      c[rng() % c.size()] = static_cast<char>(rng() % 128);
    }
    int layers;
    std::vector<double> params;
    double opt, bg;
    try {
      ParseMetisProfile(p, "f.json", &layers, &params, &opt, &bg);
    } catch (const UserError&) {
    }
    try {
      ParseMetisCluster("a slots=4\n", "hostfile", c, "c.json");
    } catch (const UserError&) {
    }
  }
}

}  // namespace
}  // namespace proteus
