// Fuzz test of the JSON readers of common/: every mutated document either parses or throws
// UserError; never a crash, never another exception type. Deterministic (fixed seeds) and bounded
// by iteration count.
#include <exception>
#include <functional>
#include <string>
#include <typeinfo>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/manifest.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

constexpr int kIterations = 3000;

Json ValidCostDb() {
  CostDb db;
  db.device = {"NVIDIA H100 80GB HBM3", 132, 9, 0, 85899345920, 1980, 2619, 52428800};
  db.software = {"550.54", "12.4", "12.4.5", "9.1", "2.21.5"};
  db.host = "node1";
  db.date = "2026-01-01T00:00:00Z";
  db.profiler_version = "0.1.0";
  OpEntry e;
  e.key.kind = "gemm";
  e.key.shape = {{"m", 1024}, {"n", 2048}, {"k", 4096}};
  e.time = {1e-5, 0.9e-5, 1.2e-5, 50, "cupti_kernel_sum", 1.1e-5};
  e.kernels = {"sm90_xmma_gemm"};
  db.PutOp(e);
  OpEntry a;
  a.key.kind = "attention";
  a.key.phase = Phase::kBwdData;
  a.key.shape = {{"batch", 1}, {"heads", 8}, {"kv_heads", 8}, {"seq_q", 1024}, {"seq_kv", 1024}, {"head_dim", 128}};
  a.key.attrs = {{"causal", "1"}};
  a.status = "oom";
  db.PutOp(a);
  CollectiveCurve c;
  c.key = {"all_reduce", 8, 1, 8, "ring", "simple", DType::kBf16};
  c.points = {{8, 13e-6, 13e-6, 14e-6}, {1 << 20, 27e-6, 26e-6, 28e-6}};
  db.PutCurve(c);
  db.interference.push_back({"gemm", "all_reduce", 1.1, 1.3});
  Calibration cal;
  cal.gpu = "H100-SXM5-80GB";
  cal.params["gemm_ceiling"] = {0.8, 0.02, false};
  cal.params["kernel_overhead_us"] = {0.5, 0.1, true};
  cal.provenance = {{"runs", Json::array({{{"name", "r1"}, {"source", "paper"}}})}, {"cv_mean_abs_error", 0.04}};
  db.calibrations.push_back(cal);
  db.topology_xml = "<system version=\"1\"></system>";
  return db.ToJson();
}

Json ValidManifest() {
  Manifest m;
  m.device = "H100-SXM5-80GB";
  OpKey k;
  k.kind = "layernorm";
  k.shape = {{"rows", 8192}, {"cols", 4096}};
  m.ops.push_back(k);
  k.kind = "copy";
  k.shape = {{"bytes", 1 << 20}};
  k.attrs = {{"dir", "h2d"}};
  m.ops.push_back(k);
  return m.ToJson();
}


// Reads every JSON value of a document through JsonView accessors, as readers do.
void WalkView(const JsonView& v, int depth) {
  if (depth > 64) return;
  if (v.IsObject()) {
    for (auto it = v.raw().begin(); it != v.raw().end(); ++it) {
      JsonView child = v.At(it.key());
      if (child.raw().is_string()) (void)v.Str(it.key());
      else if (child.raw().is_number()) (void)v.NumOr(it.key(), 0);
      WalkView(child, depth + 1);
    }
  } else if (v.IsArray()) {
    for (size_t i = 0; i < v.Size(); ++i) WalkView(v.At(i), depth + 1);
  } else if (v.raw().is_number()) {
    (void)v.AsNum();
    (void)v.AsInt();
  } else {
    (void)v.AsStr();
  }
}

void FuzzReader(const Json& valid, uint64_t seed, const std::function<void(const Json&)>& read) {
  ASSERT_EQ(fuzz::Escaped([&] { read(valid); }), "") << "the valid document must parse";
  fuzz::JsonMutator mut(seed);
  for (int i = 0; i < fuzz::FuzzIterations(kIterations); ++i) {
    Json doc = mut.MutateTree(valid);
    std::string escaped = fuzz::Escaped([&] { read(doc); });
    ASSERT_EQ(escaped, "") << "iteration " << i << " (tree) input: " << doc.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string text = mut.MutateText(valid);
    escaped = fuzz::Escaped([&] { read(ParseJson(text, "fuzz.json")); });
    ASSERT_EQ(escaped, "") << "iteration " << i << " (text) input: " << text;
  }
}

TEST(JsonFuzz, CostDbReaderOnlyThrowsUserError) {
  FuzzReader(ValidCostDb(), 1, [](const Json& j) {
    CostDb db = CostDb::FromJson(j, "fuzz.json");
    (void)db.ToJson();  // what was read must write back
  });
}

TEST(JsonFuzz, ManifestReaderOnlyThrowsUserError) {
  FuzzReader(ValidManifest(), 2, [](const Json& j) {
    Manifest m = Manifest::FromJson(j, "fuzz.json");
    (void)m.ToJson();
  });
}

TEST(JsonFuzz, JsonViewAccessorsOnlyThrowUserError) {
  FuzzReader(ValidCostDb(), 3, [](const Json& j) {
    JsonView root(j, "fuzz.json");
    (void)root.RequireFormat("proteus.costdb", 1);
    WalkView(root, 0);
  });
}

TEST(JsonFuzz, ParseJsonOnlyThrowsUserError) {
  fuzz::JsonMutator mut(4);
  Json valid = ValidCostDb();
  for (int i = 0; i < fuzz::FuzzIterations(kIterations); ++i) {
    std::string text = mut.MutateText(valid);
    ASSERT_EQ(fuzz::Escaped([&] { (void)ParseJson(text, "fuzz.json"); }), "") << "iteration " << i << ": " << text;
  }
  for (const char* text : {"", "1e400", "[-1e400]", "{\"a\": 18446744073709551616}", "\"\\ud800\"", "[", "nul"})
    EXPECT_EQ(fuzz::Escaped([&] { (void)ParseJson(text, "fuzz.json"); }), "") << text;
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// Regressions the fuzzer points at: counts read as int must not wrap (a wrapped node count of 0
// divided ranks by zero).
TEST(JsonFuzz, CountsThatOverflowIntAreRejected) {
  for (const char* field : {"ranks", "nodes", "ranks_per_node"}) {
    Json doc = ValidCostDb();
    doc["collectives"][0][field] = int64_t{1} << 32;
    EXPECT_EQ(fuzz::Escaped([&] { CostDb::FromJson(doc, "fuzz.json"); }), "") << field;
    EXPECT_THROW(CostDb::FromJson(doc, "fuzz.json"), UserError) << field;
  }
  Json doc = ValidCostDb();
  doc["device"]["sm_count"] = int64_t{1} << 32;
  EXPECT_THROW(CostDb::FromJson(doc, "fuzz.json"), UserError);
  doc = ValidCostDb();
  for (auto& op : doc["ops"])
    if (op.contains("time")) op["time"]["count"] = int64_t{1} << 31;
  EXPECT_THROW(CostDb::FromJson(doc, "fuzz.json"), UserError);
}

}  // namespace
}  // namespace proteus
