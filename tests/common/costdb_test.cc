#include "common/costdb.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/common/process_temp_dir.h"
#include "tests/common/test_keys.h"

namespace proteus {
namespace {

using test_keys::Gemm;

CostDb SmallDb() {
  CostDb db;
  db.device.name = "NVIDIA H200";
  db.device.cc_major = 9;
  db.profiler_version = "0.1.0";
  OpEntry e;
  e.key = Gemm(1024, 1024, 1024);
  e.time = {1e-5, 0.9e-5, 1.2e-5, 50, "cupti_kernel_sum", 1.1e-5};
  e.kernels = {"sm90_xmma_gemm"};
  db.PutOp(e);
  CollectiveCurve c;
  c.key = {"all_reduce", 8, 1, 8, "default", "default", DType::kBf16};
  c.points = {{1 << 20, 27e-6, 26e-6, 28e-6}, {8, 13e-6, 13e-6, 14e-6}};
  db.PutCurve(c);
  db.interference.push_back({"gemm", "all_reduce", 1.1, 1.3});
  return db;
}

TEST(CostDb, RoundTripsThroughJson) {
  CostDb db = SmallDb();
  CostDb back = CostDb::FromJson(db.ToJson(), "mem.json");
  EXPECT_EQ(back.device.name, "NVIDIA H200");
  EXPECT_EQ(back.device.cc_major, 9);
  const OpEntry* e = back.FindOp(Gemm(1024, 1024, 1024));
  ASSERT_NE(e, nullptr);
  EXPECT_NEAR(e->time.median_s, 1e-5, 1e-15);
  EXPECT_EQ(e->kernels.size(), 1u);
  const CollectiveCurve* c = back.FindCurve({"all_reduce", 8, 1, 8, "default", "default", DType::kBf16});
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->points.size(), 2u);
  EXPECT_EQ(c->points[0].bytes, 8);  // sorted ascending
  EXPECT_EQ(back.ToJson(), db.ToJson());
}

TEST(CostDb, OverlayPrefersUpperLayer) {
  CostDb lower = SmallDb();
  CostDb upper;
  OpEntry e;
  e.key = Gemm(1024, 1024, 1024);
  e.time.median_s = 2e-5;
  upper.PutOp(e);
  CostDb merged = upper.Overlay(lower);
  EXPECT_DOUBLE_EQ(merged.FindOp(Gemm(1024, 1024, 1024))->time.median_s, 2e-5);
  EXPECT_EQ(merged.device.name, "NVIDIA H200");  // upper had none
  EXPECT_EQ(merged.curves().size(), 1u);
}

TEST(CostDb, FamilyGroupsShapesOfOneKind) {
  CostDb db = SmallDb();
  OpEntry e;
  e.key = Gemm(2048, 1024, 1024);
  db.PutOp(e);
  OpEntry oom;
  oom.key = Gemm(1 << 20, 1 << 20, 1024);
  oom.status = "oom";
  db.PutOp(oom);
  EXPECT_EQ(db.Family(Gemm(1, 1, 1)).size(), 2u);  // the OOM entry has no time
}

TEST(CostDb, RejectsUnknownMajorAndBadFields) {
  Json doc = SmallDb().ToJson();
  doc["format"] = "proteus.costdb/2";
  EXPECT_THROW(CostDb::FromJson(doc, "db.json"), UserError);
  Json bad = SmallDb().ToJson();
  bad["ops"][0]["dtype"] = "bf17";
  try {
    CostDb::FromJson(bad, "db.json");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("db.json: ops[0].dtype"), std::string::npos) << e.what();
  }
  Json neg = SmallDb().ToJson();
  neg["ops"][0]["shape"]["m"] = -4;
  EXPECT_THROW(CostDb::FromJson(neg, "db.json"), UserError);
}

TEST(CostDb, SaveIsAtomicAndLoadable) {
  auto path = ProcessTempPath("proteus_costdb_test.json");
  SmallDb().Save(path);
  CostDb back = CostDb::Load(path);
  EXPECT_EQ(back.ops().size(), 1u);
  for (auto& f : std::filesystem::directory_iterator(ProcessTempDir().path()))
    EXPECT_EQ(f.path().string().find("proteus_costdb_test.json.tmp"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace proteus
