#include "simulator/compile/comm_buffers.h"

#include <gtest/gtest.h>

#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::MakeJob;
using testing::SmallGpt;

constexpr int64_t kMiB = 1 << 20;
// One ring channel: Simple 4 MiB + LL 512 KiB + LL128 4,800 KiB (NCCL's defaults).
constexpr int64_t kPerChannel = 4 * kMiB + 512 * 1024 + 4800 * 1024;

int64_t Buffers(const CompileResult& r, int gpu) {
  return r.graph.gpus[gpu].static_memory[static_cast<int>(MemCategory::kBuffers)];
}

TEST(CommBuffers, NcclDefaults) {
  EXPECT_EQ(kNcclLlBuffsize, 512 * 1024);
  EXPECT_EQ(kNcclLl128Buffsize, 4800 * 1024);
}

TEST(CommBuffers, OneSetPerCommunicatorChannel) {
  ShorthandOptions o;
  EXPECT_EQ(Buffers(MakeJob(SmallGpt(2), o).Run(), 0), 0);  // one GPU: no communicator

  o.tp = 2;
  o.dp = 2;  // the fake collective model plans 1 channel: a tp and a dp communicator
  EXPECT_EQ(Buffers(MakeJob(SmallGpt(2), o).Run(), 0), 2 * kPerChannel);

  o.pp = 2;  // each pipeline rank also has one p2p peer (Simple buffers only)
  o.global_batch = 4;
  CompileResult r = MakeJob(SmallGpt(4), o).Run();
  EXPECT_EQ(Buffers(r, 0), 2 * kPerChannel + 4 * kMiB);
  EXPECT_EQ(Buffers(r, 1), 2 * kPerChannel + 4 * kMiB);

  o.memory.nccl_buffsize = kMiB;  // NCCL_BUFFSIZE=1048576
  CompileResult small = MakeJob(SmallGpt(4), o).Run();
  EXPECT_EQ(Buffers(small, 0), 2 * (kMiB + kNcclLlBuffsize + kNcclLl128Buffsize) + kMiB);
}

TEST(CommBuffers, ChannelsAreTheMostACommunicatorRuns) {
  ShorthandOptions o;
  o.dp = 2;
  testing::Job job = MakeJob(SmallGpt(2), o);
  CompileResult r = job.Run();
  ASSERT_FALSE(r.graph.comms.empty());
  auto with_channels = [](const Comm& c, int channels) {
    CollectivePlan p = *c.plan;
    p.channels = channels;
    return std::make_shared<const CollectivePlan>(std::move(p));
  };
  for (auto& c : r.graph.comms) c.plan = with_channels(c, 3);
  r.graph.comms.front().plan = with_channels(r.graph.comms.front(), 16);  // the largest collective's channel count
  EXPECT_EQ(NcclBufferBytes(r.graph, 4 * kMiB)[0], 16 * kPerChannel);
}

TEST(CommBuffers, SymmetryAndFullGraphAgree) {
  ShorthandOptions o;
  o.tp = 2, o.pp = 2, o.dp = 2, o.global_batch = 4;
  testing::Job job = MakeJob(SmallGpt(4), o);
  CompileResult sym = job.Run(true), full = job.Run(false);
  for (const auto& g : full.graph.gpus)
    EXPECT_EQ(g.static_memory[static_cast<int>(MemCategory::kBuffers)], 2 * kPerChannel + 4 * kMiB) << g.label;
  EXPECT_EQ(Buffers(sym, 0), 2 * kPerChannel + 4 * kMiB);
}

}  // namespace
}  // namespace proteus
