#include <gtest/gtest.h>

#include <sstream>

#include "common/units.h"
#include "simulator/report/report.h"

namespace proteus {
namespace {

// One GPU over its capacity: 70 GiB allocated + 1 GiB reserve + 3 GiB fragmentation = 74 of 72.
Report OverReport() {
  Report r;
  r.model = "m";
  r.cluster = "c";
  GpuReport g;
  g.label = "pp0/dp0/tp0";
  g.memory_at_peak = {10 * kGiB, 20 * kGiB, 5 * kGiB, 30 * kGiB, 5 * kGiB};
  g.memory_reserve = kGiB;
  g.memory_fragmentation = 3 * kGiB;
  g.peak_memory = 74 * kGiB;
  g.memory_capacity = 72 * kGiB;
  g.oom = true;
  r.per_gpu = {g};
  r.oom = true;
  r.fit_advice = {"--mbs 2 (peak 60.0 GiB of 72.0 GiB, iteration 1.000 s)"};
  return r;
}

TEST(MemoryReport, VerdictSaysByHowMuchAndTheAdvice) {
  std::ostringstream out;
  PrintReportTable(OverReport(), out);
  const std::string t = out.str();
  EXPECT_NE(t.find("pp0/dp0/tp0 is 2.00 GiB over its 72.00 GiB"), std::string::npos) << t;
  EXPECT_NE(t.find("to fit: --mbs 2 (peak 60.0 GiB"), std::string::npos) << t;
  EXPECT_NE(t.find("reserve"), std::string::npos) << t;
  EXPECT_NE(t.find("4.00 GiB"), std::string::npos) << t;  // the reserve column: 1 + 3 fragmentation
}

TEST(MemoryReport, JsonCarriesReserveFragmentationAndAdvice) {
  Json j = ReportToJson(OverReport());
  const Json& mem = j["gpus"][0]["memory_at_peak_bytes"];
  EXPECT_EQ(mem["reserve"].get<int64_t>(), kGiB);
  EXPECT_EQ(mem["fragmentation"].get<int64_t>(), 3 * kGiB);
  int64_t sum = 0;
  for (const auto& [k, v] : mem.items()) sum += v.get<int64_t>();
  EXPECT_EQ(sum, j["gpus"][0]["peak_memory_bytes"].get<int64_t>());
  ASSERT_EQ(j["fit_advice"].size(), 1u);
  EXPECT_EQ(j["fit_advice"][0], OverReport().fit_advice[0]);
}

}  // namespace
}  // namespace proteus
