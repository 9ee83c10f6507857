// Host CPU specs (proteus.cpu/1) and CPU Adam's memory-bound price.
#include "simulator/cost/cpu_spec.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace proteus {
namespace {

std::string ErrorOf(const std::string& text) {
  try {
    CpuSpecFromJson(ParseJson(text, "c.json"), "c.json");
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CpuSpec, ShippedSpecsLoadAndEveryGpuTypeHasOne) {
  for (const char* gpu : {"A100-SXM4-80GB", "H100-SXM5-80GB", "H200-SXM-141GB", "V100-SXM2-32GB"}) {
    CpuSpec c = LoadCpuSpec(DefaultCpuForGpu(gpu));
    EXPECT_GT(c.mem_bw, 0) << gpu;
    EXPECT_TRUE(c.sources.count("memory_bandwidth_gbps")) << gpu;
  }
  EXPECT_DOUBLE_EQ(LoadCpuSpec("AMD-EPYC-7742").mem_bw, 204.8e9);  // 8 x DDR4-3200
  EXPECT_THROW(DefaultCpuForGpu("fake-gpu"), UserError);
  EXPECT_THROW(LoadCpuSpec("no-such-cpu"), UserError);
}

TEST(CpuSpec, RejectsUnknownKeysAndBadValuesNamingFileAndField) {
  const std::string ok = R"("format": "proteus.cpu/1", "name": "x", "sockets": 2, "cores_per_socket": 8)";
  EXPECT_EQ(ErrorOf("{" + ok + R"(, "memory_bandwidth_gbps": 100})"), "(accepted)");
  std::string e = ErrorOf("{" + ok + R"(, "memory_bandwidth_gbps": 100, "memory_bw": 1})");
  EXPECT_NE(e.find("c.json"), std::string::npos) << e;
  EXPECT_NE(e.find("memory_bw"), std::string::npos) << e;
  e = ErrorOf("{" + ok + R"(, "memory_bandwidth_gbps": -1})");
  EXPECT_NE(e.find("memory_bandwidth_gbps"), std::string::npos) << e;
  e = ErrorOf("{" + ok + R"(, "memory_bandwidth_gbps": 100, "adam_efficiency": 1.5})");
  EXPECT_NE(e.find("adam_efficiency"), std::string::npos) << e;
  e = ErrorOf(R"({"format": "proteus.cpu/2", "name": "x"})");
  EXPECT_NE(e.find("format"), std::string::npos) << e;
}

// 1e9 parameters x 34 bytes / (204.8 GB/s x 0.5 / 4 GPUs) = 34e9 / 25.6e9 = 1.328 s.
TEST(CpuSpec, CpuAdamIsMemoryBoundAndSharedBySocket) {
  CpuSpec c = LoadCpuSpec("AMD-EPYC-7742");
  EXPECT_EQ(kCpuAdamBytesPerParam, 34);
  EXPECT_NEAR(CpuAdamSeconds(c, 1'000'000'000, 4), 34e9 / (204.8e9 * 0.5 / 4), 1e-12);
  EXPECT_NEAR(CpuAdamSeconds(c, 1'000'000'000, 1) * 4, CpuAdamSeconds(c, 1'000'000'000, 4), 1e-12);
}

}  // namespace
}  // namespace proteus
