// NCCL chunking and the NVLS pipeline fill (topo/nccl_pipeline.h).
#include <gtest/gtest.h>

#include "common/units.h"
#include "topo/cluster.h"
#include "topo/measured_model.h"
#include "topo/nccl_model.h"
#include "topo/nccl_pipeline.h"

namespace proteus {
namespace {

ChunkQuery Nvls(int64_t bytes, CollOp op = CollOp::kAllReduce) {
  return {NcclAlgo::kNvls, NcclProto::kSimple, op, 16, 8, bytes};  // H100: 16 NVLS channels, 8 heads
}

TEST(NcclPipeline, ProtocolChunks) {
  // Simple: 4 MiB / 8 steps = 512 KiB per step; ring all_reduce takes 4 steps per chunk.
  EXPECT_EQ(NcclChunkBytes({NcclAlgo::kRing, NcclProto::kSimple, CollOp::kAllReduce, 12, 1, kGiB}), 2 * kMiB);
  EXPECT_EQ(NcclChunkBytes({NcclAlgo::kRing, NcclProto::kSimple, CollOp::kBroadcast, 12, 1, kGiB}), 512 * kKiB);
  EXPECT_EQ(NcclChunkBytes({NcclAlgo::kTree, NcclProto::kSimple, CollOp::kAllReduce, 12, 1, kGiB}), 512 * kKiB);
  // LL: 8 x 512 x 8 x 16 B / 8 = 64 KiB per step, half of it data.
  EXPECT_EQ(NcclChunkBytes({NcclAlgo::kRing, NcclProto::kLl, CollOp::kAllReduce, 12, 1, kGiB}), 32 * kKiB);
  // LL128: 120 x 640 x 8 B = 614400 B per step, 120 of 128 bytes data = 576000.
  EXPECT_EQ(NcclChunkBytes({NcclAlgo::kRing, NcclProto::kLl128, CollOp::kAllReduce, 12, 1, kGiB}), 576000);
}

TEST(NcclPipeline, NvlsChunkShrinksForSmallMessages) {
  // concurrentOps = 16 x 8 = 128. 128 KiB from 64 x 128 x 128 KiB = 1 GiB up; 64 KiB from
  // 8 x 128 x 64 KiB = 64 MiB; 32 KiB from 2 x 128 x 32 KiB = 8 MiB; 16 KiB below.
  EXPECT_EQ(NcclChunkBytes(Nvls(8 * kGiB)), 128 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(kGiB)), 128 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(kGiB - 1)), 64 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(64 * kMiB)), 64 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(64 * kMiB - 1)), 32 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(8 * kMiB)), 32 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(8 * kMiB - 1)), 16 * kKiB);
  EXPECT_EQ(NcclChunkBytes(Nvls(8)), 16 * kKiB);
}

TEST(NcclPipeline, FillIsStagesMinusOneLoopTimes) {
  const double bw = 266.67 * kGBps;
  // all_reduce, 3 stages; 16 MiB: chunk 32 KiB, loop 16 x 8 x 32 KiB = 4 MiB -> 2 x 4 MiB / bw.
  EXPECT_NEAR(PipelineFillTime(Nvls(16 * kMiB), bw), 2 * 4.0 * kMiB / bw, 1e-12);
  // A message smaller than one loop crosses the stages once: 2 x 1 MiB / bw.
  EXPECT_NEAR(PipelineFillTime(Nvls(kMiB), bw), 2.0 * kMiB / bw, 1e-12);
  // all_gather / reduce_scatter: 2 stages.
  EXPECT_NEAR(PipelineFillTime(Nvls(16 * kMiB, CollOp::kAllGather), bw), 4.0 * kMiB / bw, 1e-12);
  EXPECT_EQ(PipelineStages(NcclAlgo::kNvls, CollOp::kReduceScatter), 2);
  // Rings start full (every rank sends its own chunk at step 0): no fill.
  EXPECT_EQ(PipelineStages(NcclAlgo::kRing, CollOp::kAllReduce), 1);
  EXPECT_EQ(PipelineFillTime({NcclAlgo::kRing, NcclProto::kSimple, CollOp::kAllReduce, 12, 1, kGiB}, bw), 0);
  // The fill grows with size (the chunk grows) and is bounded by the 128 KiB chunk's loop.
  double prev = 0;
  for (int64_t s = kMiB; s <= 8 * kGiB; s *= 2) {
    double f = PipelineFillTime(Nvls(s), bw);
    EXPECT_GE(f, prev) << s;
    EXPECT_LE(f, 2 * 16.0 * kMiB / bw + 1e-12) << s;
    prev = f;
  }
}

TEST(NcclPipeline, PlanAddsTheFillToNvlsOnly) {
  Cluster c = LoadCluster("dgx-h100-1");
  auto model = MakeCollectiveModel(c, nullptr);
  std::vector<GpuId> g = {0, 1, 2, 3, 4, 5, 6, 7};
  CollectivePlan p = model->Plan({CollOp::kAllReduce, g, 16 * kMiB, DType::kFp32});
  ASSERT_EQ(p.algo, "nvls");
  const double bw = 8 * 40 * kGBps * 5 / 6;
  // 23 us + 16 MiB / 266.7 GB/s + 2 x 4 MiB / 266.7 GB/s = 23 + 62.91 + 31.46 us.
  EXPECT_NEAR(p.time_s, 23e-6 + 16 * kMiB / bw + 8.0 * kMiB / bw, 1e-10);
  EXPECT_NEAR(p.latency_s, 23e-6 + 8.0 * kMiB / bw, 1e-10);  // the fill moves no extra bytes
  // A100 rings: unchanged tuning-model time (8.4 + 14 x 3.4 us + 1 GiB / (12 x 20 x 8/14 GB/s)).
  Cluster a = LoadCluster("dgx-a100-1");
  CollectiveModelOptions ring;
  ring.force_algo = NcclAlgo::kRing;
  ring.force_proto = NcclProto::kSimple;
  auto am = MakeCollectiveModel(a, nullptr, ring);
  CollectivePlan r = am->Plan({CollOp::kAllReduce, g, kGiB, DType::kFp32});
  EXPECT_NEAR(r.time_s, (8.4 + 14 * 3.4) * 1e-6 + kGiB / (240 * kGBps * 8 / 14), 1e-9);
}

}  // namespace
}  // namespace proteus

namespace proteus {
namespace {

// The maintainers' figures (REFERENCE.md section 1) hold with the pipeline model: H100 ring busbw
// ~365-370 GB/s for 2..8 GPUs (model: 12 x 30 = 360, rings have no fill), one 400G NDR NIC ~46-49 GB/s
// per NIC (model: 48 per channel, one channel per NIC), DGX-A100 across nodes ~192 (8 x 24).
double RingBusBw(const std::string& cluster, int ranks, int64_t bytes) {
  Cluster c = LoadCluster(cluster);
  CollectiveModelOptions o;
  o.force_algo = NcclAlgo::kRing;
  o.force_proto = NcclProto::kSimple;
  auto m = MakeCollectiveModel(c, nullptr, o);
  std::vector<GpuId> g;
  for (int i = 0; i < ranks; ++i) g.push_back(i);
  CollectivePlan p = m->Plan({CollOp::kAllReduce, g, bytes, DType::kFp32});
  return bytes / (p.time_s - p.latency_s) * 2.0 * (ranks - 1) / ranks / kGBps;
}

TEST(NcclPipeline, MaintainerFiguresHold) {
  for (int n = 2; n <= 8; ++n) {
    double bw = RingBusBw("dgx-h100-1", n, 4 * kGiB);
    EXPECT_GT(bw, 350) << n;
    EXPECT_LT(bw, 375) << n;
    std::printf("H100 ring %d GPUs: busbw %.1f GB/s\n", n, bw);
  }
  double a100 = RingBusBw("dgx-a100-4", 32, 4 * kGiB);
  EXPECT_NEAR(a100, 192, 2);
  // 2 H100 nodes, 16 ranks: 8 NICs of 400 Gb/s -> per NIC = busbw / 8.
  double h100_net = RingBusBw("dgx-h100-2", 16, 4 * kGiB);
  std::printf("H100 2 nodes ring: busbw %.1f GB/s, %.1f per NIC; A100 4 nodes %.1f\n", h100_net, h100_net / 8, a100);
  EXPECT_GT(h100_net / 8, 45);
  EXPECT_LT(h100_net / 8, 50);
}

}  // namespace
}  // namespace proteus
