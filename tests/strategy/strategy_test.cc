#include "simulator/strategy/strategy.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/resolve.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

Strategy Parse(const std::string& text) { return ParseStrategy(ParseJson(text, "s.json"), "s.json"); }

std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(Strategy, ParsesEverySetting) {
  Strategy s = Parse(R"({"format": "proteus.strategy/1",
    "mesh": [{"axis": "pp", "size": 2}, {"axis": "dp", "size": 4}, {"axis": "tp", "size": 8}],
    "micro_batch": 2, "global_batch": 64, "schedule": {"kind": "interleaved", "chunks": 2},
    "grad_bucket_bytes": 1000, "overlap_grad_reduce": false,
    "defaults": {"partition": {"b": "dp"}, "layouts": {"optimizer": "sharded:dp"}},
    "nodes": [{"match": "layers.*.mlp", "partition": {"f": "tp", "b": null}, "recompute": "full", "stage": 1}]})");
  ASSERT_EQ(s.mesh.size(), 3u);
  EXPECT_EQ(s.mesh[0].name, "pp");
  EXPECT_EQ(s.MeshGpus(), 64);  // 2*4*8
  EXPECT_EQ(s.NumMicrobatches(), 8);  // 64 / (2*4)
  EXPECT_EQ(s.schedule.kind, ScheduleKind::kInterleaved);
  EXPECT_EQ(s.VirtualStages(), 4);  // pp 2 x 2 chunks
  EXPECT_FALSE(s.overlap_grad_reduce);
  EXPECT_EQ(*s.defaults.optimizer, "dp");
  ASSERT_EQ(s.nodes.size(), 1u);
  EXPECT_EQ(*s.nodes[0].settings.partition.at("f"), "tp");
  EXPECT_FALSE(s.nodes[0].settings.partition.at("b").has_value());
  EXPECT_EQ(*s.nodes[0].settings.recompute, Recompute::kFull);
}

TEST(Strategy, JsonRoundTrip) {
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": {"tp": 2, "pp": 2},
    "defaults": {"partition": {"b": "dp"}, "recompute": "selective"},
    "nodes": [{"match": "embed", "stage": 0, "layouts": {"grads": "replicated"}}]})");
  Json j = StrategyToJson(s);
  Strategy t = ParseStrategy(j, "round");
  EXPECT_EQ(StrategyToJson(t), j);
  // Object meshes take Megatron's order whatever the key order: pp outermost, tp innermost.
  EXPECT_EQ(t.mesh[0].name, "pp");
  EXPECT_EQ(t.mesh[1].name, "tp");
}

TEST(Strategy, OffloadOptimizerIsATopLevelKeyThatRoundTrips) {
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, "offload_optimizer": true,
    "defaults": {"partition": {"b": "dp"}, "layouts": {"optimizer": "sharded:dp"}}})");
  EXPECT_TRUE(s.offload_optimizer);
  Json j = StrategyToJson(s);
  EXPECT_EQ(j["offload_optimizer"], true);
  EXPECT_TRUE(ParseStrategy(j, "round").offload_optimizer);
  EXPECT_FALSE(StrategyToJson(Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}})")).contains("offload_optimizer"));
}

TEST(Strategy, OffloadActivationsIsATopLevelKeyThatRoundTrips) {
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, "offload_activations": 3,
    "defaults": {"partition": {"b": "dp"}}})");
  EXPECT_EQ(s.offload_activations, 3);
  Json j = StrategyToJson(s);
  EXPECT_EQ(j["offload_activations"], 3);
  EXPECT_EQ(ParseStrategy(j, "round").offload_activations, 3);
  EXPECT_FALSE(StrategyToJson(Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}})")).contains("offload_activations"));
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, "offload_activations": 0})")
                .find("s.json: offload_activations"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": {"dp": 2}, "offload_activations": 4294967297})")
                .find("offload_activations"),
            std::string::npos);
}

TEST(Strategy, RejectsMalformedFields) {
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/2", "mesh": []})").find("s.json"), std::string::npos)
      << ErrorOf(R"({"format": "proteus.strategy/2", "mesh": []})");
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": {"zz": 2}})").find("ordered array"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [{"axis": "tp", "size": 0}]})").find("mesh[0].size"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [{"axis": "tp", "size": 2}, {"axis": "tp", "size": 2}]})")
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "nodes": [{"match": "x", "recompute": "half"}]})")
                .find("nodes[0].recompute"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "defaults": {"layouts": {"weights": "sharded"}}})")
                .find("defaults.layouts.weights"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "nodes": [{"match": "x", "stag": 1}]})")
                .find("stag"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "schedule": {"kind": "1f1b", "chunks": 2}})")
                .find("chunks"),
            std::string::npos);
}

TEST(Strategy, OverlapAndWeightGatherKnobs) {
  Strategy d = Parse(R"({"format": "proteus.strategy/1", "mesh": []})");
  EXPECT_FALSE(d.overlap_param_gather);  // Megatron-Core's defaults
  EXPECT_FALSE(d.tp_comm_overlap);
  EXPECT_FALSE(d.OverlapP2P());          // 1f1b: blocking sends
  d.schedule.kind = ScheduleKind::kInterleaved;
  EXPECT_TRUE(d.OverlapP2P());           // interleaved: overlap_p2p_comm
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 4},
    "overlap_param_gather": true, "tp_comm_overlap": true, "overlap_p2p_comm": true,
    "weight_gather": {"unit": "operator", "prefetch": 2, "reshard_after_forward": false},
    "defaults": {"partition": {"b": "dp"}, "layouts": {"weights": "sharded:dp", "grads": "sharded:dp",
                 "optimizer": "sharded:dp"}}})");
  EXPECT_TRUE(s.overlap_param_gather);
  EXPECT_TRUE(s.tp_comm_overlap);
  EXPECT_TRUE(s.OverlapP2P());
  EXPECT_EQ(s.weight_gather.unit, GatherUnit::kOperator);
  EXPECT_EQ(s.weight_gather.prefetch, 2);
  EXPECT_FALSE(s.weight_gather.reshard_after_forward);
  Json j = StrategyToJson(s);
  Strategy t = ParseStrategy(j, "round");
  EXPECT_EQ(StrategyToJson(t), j);
  EXPECT_EQ(t.weight_gather, s.weight_gather);
  EXPECT_EQ(t.overlap_p2p_comm, std::optional<bool>(true));

  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "weight_gather": {"unit": "layer"}})")
                .find("weight_gather.unit"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "weight_gather": {"prefetch": -1}})")
                .find("weight_gather.prefetch"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "weight_gather": {"shard_group": 0}})")
                .find("weight_gather.shard_group"),
            std::string::npos);
  // HSDP's shard group: read, and written back in the canonical form; absent means the whole axis.
  EXPECT_EQ(s.weight_gather.shard_group, 0);
  EXPECT_FALSE(j["weight_gather"].contains("shard_group"));
  Strategy h = Parse(R"({"format": "proteus.strategy/1", "mesh": {"dp": 16},
    "weight_gather": {"unit": "block", "shard_group": 8},
    "defaults": {"partition": {"b": "dp"}, "layouts": {"weights": "sharded:dp", "grads": "sharded:dp",
                 "optimizer": "sharded:dp"}}})");
  EXPECT_EQ(h.weight_gather.shard_group, 8);
  Json hj = StrategyToJson(h);
  EXPECT_EQ(hj["weight_gather"]["shard_group"].get<int>(), 8);
  EXPECT_EQ(ParseStrategy(hj, "round").weight_gather, h.weight_gather);
  EXPECT_NE(ErrorOf(R"({"format": "proteus.strategy/1", "mesh": [], "overlap_p2p_comm": "yes"})")
                .find("overlap_p2p_comm"),
            std::string::npos);
}

TEST(Resolve, ChildrenInheritAndLaterRulesWin) {
  Model m = testing::TinyGpt(4);
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": [{"axis": "dp", "size": 2}, {"axis": "tp", "size": 2}],
    "defaults": {"partition": {"b": "dp"}, "recompute": "none"},
    "nodes": [{"match": "layers.*", "recompute": "full"},
              {"match": "layers.[2-3]", "recompute": "selective"},
              {"match": "layers.*.mlp", "partition": {"f": "tp"}},
              {"match": "layers.1.mlp.act", "partition": {"f": null}},
              {"match": "**", "recompute": "full"}]})");
  ResolvedModel r = ResolveStrategy(m, s);
  auto find = [&](const std::string& path) -> const EffectiveSettings& {
    for (const auto& op : r.ops)
      if (op.path == path) return op.settings;
    ADD_FAILURE() << path;
    return r.ops.front().settings;
  };
  // Inherited from defaults, merged per dim with the mlp rule.
  EXPECT_EQ(find("layers.0.mlp.fc1").partition, (std::map<std::string, std::string>{{"b", "dp"}, {"f", "tp"}}));
  // A null removes only that dim.
  EXPECT_EQ(find("layers.1.mlp.act").partition, (std::map<std::string, std::string>{{"b", "dp"}}));
  // The last rule ("**" full) matches every node itself, so it wins everywhere.
  EXPECT_EQ(find("layers.3.mlp.fc1").recompute, Recompute::kFull);
  EXPECT_EQ(find("embed.word").recompute, Recompute::kFull);
  EXPECT_EQ(r.rule_matches[3], 1);  // only the op layers.1.mlp.act
  EXPECT_EQ(r.ops.size(), 1u + 4 * 5 + 3);  // embed, 4 blocks of 5, norm, logits, loss
}

TEST(Resolve, RecomputeRegionIsWhereTheModeWasSet) {
  Model m = testing::TinyGpt(2);
  Strategy s = Parse(R"({"format": "proteus.strategy/1", "mesh": [],
    "nodes": [{"match": "layers.*", "recompute": "full"}, {"match": "layers.*.mlp", "recompute": "full"},
              {"match": "layers.1", "stage": 0}]})");
  ResolvedModel r = ResolveStrategy(m, s);
  for (const auto& op : r.ops) {
    if (op.path == "layers.1.mlp.fc2") {
      EXPECT_EQ(op.settings.recompute, Recompute::kFull);
      EXPECT_EQ(op.settings.recompute_region, "layers.1");  // restating full deeper keeps the region
      EXPECT_EQ(op.settings.stage, 0);
    }
    if (op.path == "embed.word") {
      EXPECT_EQ(op.settings.recompute, Recompute::kNone);
      EXPECT_EQ(op.settings.stage, -1);
    }
  }
}

}  // namespace
}  // namespace proteus
