// Stored times round-trip exactly (issue 16): a database loaded and saved again writes the same
// text, and what the profiler holds is what the simulator reads.
#include "common/stored_time.h"

#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>
#include <random>
#include <string>

#include "common/costdb.h"
#include "tests/common/test_keys.h"

namespace proteus {
namespace {

// The JSON text of a double as the database writes it (nlohmann: the shortest that reads back).
std::string Text(double x) { return Json(x).dump(); }
double FromText(const std::string& t) { return Json::parse(t).get<double>(); }

TEST(StoredTime, MovesTheDecimalPointInsteadOfMultiplying) {
  // The reason for the module: 2.3 * 1e-6 is not the double nearest 2.3e-06, and it writes back
  // as 2.2999999999999994.
  ASSERT_NE(2.3 * 1e-6, 2.3e-6);
  EXPECT_EQ(SecondsFromStoredMicros(2.3), 2.3e-6);
  EXPECT_EQ(StoredMicrosFromSeconds(2.3e-6), 2.3);
  EXPECT_EQ(Text(StoredMicrosFromSeconds(SecondsFromStoredMicros(2.3))), "2.3");
  EXPECT_EQ(SecondsFromStoredMicros(0), 0);
  EXPECT_EQ(SecondsFromStoredMicros(1e6), 1.0);
  EXPECT_EQ(StoredMicrosFromSeconds(1.5), 1.5e6);
}

TEST(StoredTime, FileToMemoryToFileKeepsEveryDecimal) {
  // Decimals of 1 to 15 significant digits over 1 ns .. 100 s, as a file would hold them.
  std::mt19937_64 rng(16);
  std::uniform_int_distribution<int> digits(1, 15), exponent(-3, 8);
  int multiplied_moved = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    int d = digits(rng);
    std::uniform_int_distribution<long long> mantissa(1, static_cast<long long>(std::pow(10.0, d)) - 1);
    std::string text = std::to_string(mantissa(rng)) + "e" + std::to_string(exponent(rng) - d);
    double us = FromText(text);
    double back = StoredMicrosFromSeconds(SecondsFromStoredMicros(us));
    ASSERT_EQ(Text(back), Text(us)) << text;
    if (Text((us * 1e-6) * 1e6) != Text(us)) ++multiplied_moved;
  }
  // The multiplications this replaces moved a good share of them (so the test can tell).
  EXPECT_GT(multiplied_moved, n / 20);
}

TEST(StoredTime, MemoryToFileToMemoryKeepsEveryRecordedTime) {
  std::mt19937_64 rng(61);
  std::uniform_real_distribution<double> log10_s(-9, 2);
  for (int i = 0; i < 100000; ++i) {
    double s = StorableSeconds(std::pow(10.0, log10_s(rng)));
    double back = SecondsFromStoredMicros(FromText(Text(StoredMicrosFromSeconds(s))));
    ASSERT_EQ(back, s) << Text(s);
  }
}

TEST(StoredTime, StorableSecondsKeepsFifteenDigitsAndIsStable) {
  double s = 1.0 / 3.0 * 1e-5;
  double r = StorableSeconds(s);
  EXPECT_EQ(Text(r), "3.33333333333333e-06");
  EXPECT_EQ(StorableSeconds(r), r);
  EXPECT_NEAR(r, s, s * 1e-14);
  EXPECT_EQ(StorableSeconds(0), 0);
  EXPECT_EQ(StorableSeconds(2.5e-6), 2.5e-6);
}

TEST(StoredTime, ADatabaseLoadedAndSavedWritesTheSameText) {
  CostDb db;
  db.device.name = "NVIDIA H200";
  OpEntry e;
  e.key = test_keys::Gemm(1024, 1024, 1024);
  e.time = {1e-5, 1e-5, 1e-5, 50, "cupti_kernel_sum", 1e-5};
  db.PutOp(e);
  CollectiveCurve c;
  c.key = {"all_reduce", 8, 1, 8, "default", "default", DType::kBf16};
  c.points = {{8, 1e-5, 1e-5, 1e-5}};
  db.PutCurve(c);
  // The file as a person or another tool wrote it: short decimals that 1e-6 * 1e6 moves.
  Json file = db.ToJson();
  Json& t = file["ops"][0]["time"];
  t["median_us"] = 2.3, t["p10_us"] = 7.1, t["p90_us"] = 12.345, t["wall_median_us"] = 0.3;
  Json& p = file["collectives"][0]["points"][0];
  p["time_us"] = 13.3, p["p10_us"] = 2.3, p["p90_us"] = 14.35;

  Json first = CostDb::FromJson(file, "db.json").ToJson();
  EXPECT_EQ(first.dump(), file.dump());
  Json second = CostDb::FromJson(first, "db.json").ToJson();
  EXPECT_EQ(second.dump(), first.dump());
}

}  // namespace
}  // namespace proteus
