#include "simulator/cost/gpu_family.h"

#include <gtest/gtest.h>

namespace proteus {
namespace {

TEST(GpuFamily, ReadsTheModelTokenOfDeviceAndSpecNames) {
  EXPECT_EQ(GpuFamily("NVIDIA H100 80GB HBM3"), "H100");
  EXPECT_EQ(GpuFamily("A100-SXM4-80GB"), "A100");
  EXPECT_EQ(GpuFamily("NVIDIA A100-SXM4-40GB"), "A100");
  EXPECT_EQ(GpuFamily("Tesla V100-SXM2-32GB"), "V100");
  EXPECT_EQ(GpuFamily("NVIDIA L40S"), "L40S");
  EXPECT_EQ(GpuFamily("H200-SXM-141GB"), "H200");
  EXPECT_EQ(GpuFamily("some accelerator"), "");
  EXPECT_EQ(GpuFamily(""), "");
}

TEST(GpuFamily, OnlyTwoKnownDifferentFamiliesDiffer) {
  EXPECT_TRUE(SameGpuFamily("NVIDIA H100 80GB HBM3", "H100-SXM5-80GB"));
  EXPECT_FALSE(SameGpuFamily("NVIDIA H100 80GB HBM3", "A100-SXM4-80GB"));
  EXPECT_TRUE(SameGpuFamily("", "A100-SXM4-80GB"));
  EXPECT_TRUE(SameGpuFamily("mystery", "A100-SXM4-80GB"));
}

}  // namespace
}  // namespace proteus
