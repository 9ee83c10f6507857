// Block orders of the pipeline schedules: complete (every F, B, W of every micro-batch once, on the
// rank that holds its stage), dependency-respecting and free of deadlock over a grid of (pp, m),
// and the hand-written worked examples of schedule.h.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>

#include "simulator/compile/schedule.h"

namespace proteus {
namespace {

Schedule Make(ScheduleKind kind, int chunks = 0) {
  Schedule s;
  s.kind = kind;
  s.chunks = chunks > 0 ? chunks : FixedChunks(kind);
  return s;
}

std::string Text(const std::vector<PipelineBlock>& order) {
  std::string out;
  for (const auto& b : order) {
    if (!out.empty()) out += " ";
    out += std::string(BlockKindName(b.kind)) + std::to_string(b.microbatch);
    if (b.chunk > 0) out += "'";
  }
  return out;
}

// Runs the orders as the compiler emits them (a block waits for the blocks it reads from other
// stages); returns false on deadlock. Checks every block appears once per (stage, micro-batch).
bool RunsToCompletion(const Schedule& s, int pp, int m, std::string* why) {
  int stages = pp * s.chunks;
  std::vector<std::vector<PipelineBlock>> order(pp);
  std::map<std::tuple<int, int, BlockKind>, int> seen;
  for (int p = 0; p < pp; ++p) {
    order[p] = PipelineOrder(s, p, pp, m);
    for (const auto& b : order[p]) {
      int v = StageOfChunk(s, p, b.chunk, pp);
      if (RankOfStage(s, v, pp, DirectionOf(s, b.microbatch, m)) != p) *why = "stage placement is not inverted";
      // dualpipe: chunk c runs only micro-batches of direction c (0..m/2-1, m/2..m-1).
      if (TwoDirections(s) && DirectionOf(s, b.microbatch, m) != b.chunk) *why = "a micro-batch in the wrong direction";
      ++seen[{v, b.microbatch, b.kind}];
    }
  }
  for (int v = 0; v < stages; ++v)
    for (int mb = 0; mb < m; ++mb) {
      int f = seen[{v, mb, BlockKind::kForward}], bw = seen[{v, mb, BlockKind::kBackward}],
          b = seen[{v, mb, BlockKind::kInputGrad}], w = seen[{v, mb, BlockKind::kWeightGrad}];
      if (f != 1 || !((bw == 1 && b == 0 && w == 0) || (bw == 0 && b == 1 && w == 1)))
        *why = "stage " + std::to_string(v) + " mb " + std::to_string(mb) + ": F " + std::to_string(f) + " BW " +
               std::to_string(bw) + " B " + std::to_string(b) + " W " + std::to_string(w);
    }
  std::vector<std::vector<char>> f_done(stages, std::vector<char>(m)), b_done = f_done;
  std::vector<size_t> next(pp, 0);
  for (bool progress = true; progress;) {
    progress = false;
    for (int p = 0; p < pp; ++p)
      while (next[p] < order[p].size()) {
        const PipelineBlock& b = order[p][next[p]];
        int v = StageOfChunk(s, p, b.chunk, pp);
        bool ready = b.kind == BlockKind::kForward      ? v == 0 || f_done[v - 1][b.microbatch]
                     : b.kind == BlockKind::kWeightGrad ? b_done[v][b.microbatch] != 0
                     : v == stages - 1                  ? f_done[v][b.microbatch] != 0
                                                        : b_done[v + 1][b.microbatch] != 0;
        if (!ready) break;
        if (b.kind == BlockKind::kForward) f_done[v][b.microbatch] = 1;
        if (b.kind == BlockKind::kBackward || b.kind == BlockKind::kInputGrad) b_done[v][b.microbatch] = 1;
        ++next[p];
        progress = true;
      }
  }
  for (int p = 0; p < pp; ++p)
    if (next[p] != order[p].size()) return false;
  return why->empty();
}

TEST(Schedule, EveryOrderIsCompleteAndNeverDeadlocks) {
  for (int pp = 1; pp <= 8; ++pp)
    for (int m = 1; m <= 24; ++m) {
      std::vector<Schedule> kinds = {Make(ScheduleKind::kGPipe), Make(ScheduleKind::k1F1B), Make(ScheduleKind::kZbH1)};
      if (m % pp == 0 && pp >= 2) kinds.push_back(Make(ScheduleKind::kInterleaved, 2));
      if (pp >= 2) kinds.push_back(Make(ScheduleKind::kZbV));
      if (pp >= 2 && m >= 2 * pp) kinds.push_back(Make(ScheduleKind::kDualPipeV));
      if (pp % 2 == 0 && m % 2 == 0 && m >= 2 * pp) kinds.push_back(Make(ScheduleKind::kDualPipe));
      for (const auto& s : kinds) {
        std::string why;
        EXPECT_TRUE(RunsToCompletion(s, pp, m, &why))
            << ScheduleKindName(s.kind) << " pp " << pp << " m " << m << ": " << (why.empty() ? "deadlock" : why);
      }
    }
}

TEST(Schedule, ZbH1HoldsBackRankIWeightGradients) {
  Schedule s = Make(ScheduleKind::kZbH1);
  // schedule.h's worked example: 1f1b's F/B order, W(k) after B(k+1) on rank 1.
  EXPECT_EQ(Text(PipelineOrder(s, 1, 4, 8)),
            "F0 F1 F2 B0 F3 B1 W0 F4 B2 W1 F5 B3 W2 F6 B4 W3 F7 B5 W4 B6 W5 B7 W6 W7");
  // Rank 0 holds none back: each W right after its B.
  EXPECT_EQ(Text(PipelineOrder(s, 0, 4, 8)),
            "F0 F1 F2 F3 B0 W0 F4 B1 W1 F5 B2 W2 F6 B3 W3 F7 B4 W4 B5 W5 B6 W6 B7 W7");
  // Micro-batches holding activations (F run, W not yet): p-i in flight plus i held = p on every
  // rank, 1f1b's peak on rank 0.
  for (int rank = 0; rank < 4; ++rank) {
    int live = 0, peak = 0;
    for (const auto& b : PipelineOrder(s, rank, 4, 8)) {
      live += b.kind == BlockKind::kForward ? 1 : b.kind == BlockKind::kWeightGrad ? -1 : 0;
      peak = std::max(peak, live);
    }
    EXPECT_EQ(peak, 4) << "rank " << rank;
  }
}

TEST(Schedule, ZbVInTheClosedForm) {
  Schedule s = Make(ScheduleKind::kZbV);
  EXPECT_EQ(s.chunks, 2);
  EXPECT_EQ(StageOfChunk(s, 1, 1, 4), 6);  // the V placement, as dualpipev
  // Rank 3 of 4, 8 micro-batches: warm-up 2(p-r)-1 = 1 F, r = 3 rounds F' F, p-r = 1 round F' B' W';
  // steady F B W F' B' W'; cool-down 3 rounds B B', one round B W, then W' owed, then W.
  EXPECT_EQ(Text(PipelineOrder(s, 3, 4, 8)),
            "F0 F0' F1 F1' F2 F2' F3 F3' B0' W0' F4 B0 W0 F4' B1' W1' F5 B1 W1 F5' B2' W2' F6 B2 W2 F6' B3' W3' "
            "F7 B3 W3 F7' B4' W4' B4 B5' B5 B6' B6 B7' B7 W4 W5' W6' W7' W5 W6 W7");
  // 2p chunks of activations at the peak on every rank (1f1b's p stages), for m >= 2p-1.
  for (int rank = 0; rank < 4; ++rank) {
    int live = 0, peak = 0;
    for (const auto& b : PipelineOrder(s, rank, 4, 16)) {
      live += b.kind == BlockKind::kForward ? 1 : b.kind == BlockKind::kWeightGrad ? -1 : 0;
      peak = std::max(peak, live);
    }
    EXPECT_EQ(peak, 8) << "rank " << rank;
  }
  // Fewer micro-batches than 2p-1: the padded order, blocks of absent micro-batches dropped.
  EXPECT_EQ(Text(PipelineOrder(s, 1, 2, 2)), "F0 F0' F1 F1' B0' W0' B0 W0 B1' W1' B1 W1");
}

TEST(Schedule, DualPipeVFollowsDeepSeekPhases) {
  Schedule s = Make(ScheduleKind::kDualPipeV);
  EXPECT_EQ(s.chunks, 2);
  // V placement: rank 0 holds stages 0 and 7 of 8, rank 3 stages 3 and 4.
  EXPECT_EQ(StageOfChunk(s, 0, 1, 4), 7);
  EXPECT_EQ(StageOfChunk(s, 3, 1, 4), 4);
  EXPECT_EQ(RankOfStage(s, 5, 4), 2);
  // Rank 3 of 4, 8 micro-batches (' marks chunk 1): phase 1 none, phase 2 r+1 = 4 rounds of F F',
  // phase 3 none (p-r-1 = 0), phase 4 m-2p+r+1 = 4 rounds of two F&B pairs, phase 5 none, phase 6
  // r+1 = 4 rounds of BW' BW with the W's of the second half deferred, phase 8 four W's.
  std::vector<PipelineBlock> order = PipelineOrder(s, 3, 4, 8);
  EXPECT_EQ(Text(order),
            "F0 F0' F1 F1' F2 F2' F3 F3' F4 BW0' F4' BW0 F5 BW1' F5' BW1 F6 BW2' F6' BW2 F7 BW3' F7' BW3 "
            "BW4' BW4 BW5' BW5 B6' B6 B7' B7 W6' W6 W7' W7");
  // The last rank's first pair is not overlapped (DualPipe feeds its own F' from that F); later
  // pairs are.
  EXPECT_FALSE(order[8].paired_with_next);
  EXPECT_TRUE(order[10].paired_with_next);
  EXPECT_TRUE(order[12].paired_with_next);
  // Chunks holding activations (F run, its W or BW not yet): 2p+1 on every rank, the report's
  // "PP+1" with PP = 2p chunks.
  for (int rank = 0; rank < 4; ++rank) {
    int live = 0, peak = 0;
    for (const auto& b : PipelineOrder(s, rank, 4, 16)) {
      live += b.kind == BlockKind::kForward ? 1 : b.kind == BlockKind::kInputGrad ? 0 : -1;
      peak = std::max(peak, live);
    }
    EXPECT_EQ(peak, 9) << "rank " << rank;
  }
  // Rank 0: 2(p-1) = 6 chunk-0 forwards, F F', three zero-bubble rounds B' W' F', one main round,
  // three rounds BW' (F' BW), then BW' and the deferred-W tail.
  EXPECT_EQ(Text(PipelineOrder(s, 0, 4, 8)),
            "F0 F1 F2 F3 F4 F5 F6 F0' B0' W0' F1' B1' W1' F2' B2' W2' F3' F7 BW3' F4' BW0 BW4' F5' BW1 BW5' "
            "F6' BW2 BW6' F7' BW3 BW7' B4 W4 B5 W5 B6 W6 B7 W7");
}

TEST(Schedule, DualPipeRunsBothDirectionsOnMirroredRanks) {
  Schedule s = Make(ScheduleKind::kDualPipe);
  EXPECT_EQ(s.chunks, 1);  // pp stages, as 1f1b: each rank holds two of them
  // Rank r holds stage r for direction 0 and stage p-1-r for direction 1; each stage is on two ranks.
  EXPECT_EQ(StageOfChunk(s, 1, 0, 4), 1);
  EXPECT_EQ(StageOfChunk(s, 1, 1, 4), 2);
  EXPECT_EQ(RankOfStage(s, 2, 4, 0), 2);
  EXPECT_EQ(RankOfStage(s, 2, 4, 1), 1);
  EXPECT_EQ(RanksOfStage(s, 0, 4), (std::vector<int>{0, 3}));
  EXPECT_EQ(RanksOfStage(Make(ScheduleKind::k1F1B), 2, 4), (std::vector<int>{2}));
  EXPECT_EQ(DirectionOf(s, 3, 8), 0);
  EXPECT_EQ(DirectionOf(s, 4, 8), 1);
  EXPECT_EQ(MicrobatchesOf(s, 1, 8), (std::pair{4, 8}));
  // p 4, m 8 (' marks chunk 1, micro-batches 4..7), worked by hand from dualpipe.py step() with
  // half_rank h = 0, 2 half ranks, 4 micro-batches per direction: 1: (2-h-1)2 = 2 F0; 2: h+1 = 1
  // round F0 F1; 3: one B1 W1 F1; 4 (main): 4-4+h+1 = 1 round of pairs (F0 B1) (F1 B0); 5: one
  // B1 (F1 B0); 6: h+1 = 1 round B1 B0, B0's W deferred; 7: one W B0; 8: one W.
  std::vector<PipelineBlock> r0 = PipelineOrder(s, 0, 4, 8);
  EXPECT_EQ(Text(r0), "F0 F1 F2 F4' B4' W4' F5' F3 BW5' F6' BW0 BW6' F7' BW1 BW7' B2 W2 B3 W3");
  // Rank 3 mirrors rank 0 with the directions swapped (dualpipe.py: phase ^= is_in_second_half).
  EXPECT_EQ(Text(PipelineOrder(s, 3, 4, 8)), "F4' F5' F6' F0 B0 W0 F1 F7' BW1 F2 BW4' BW2 F3 BW5' BW3 B6' W6' B7' W7'");
  // The middle ranks (h = 1) do not overlap their first main-phase pair; later pairs are.
  std::vector<PipelineBlock> r1 = PipelineOrder(s, 1, 4, 8);
  EXPECT_EQ(Text(r1), "F0 F4' F1 F5' F2 BW4' F6' BW0 F3 BW5' F7' BW1 BW6' BW2 B7' B3 W7' W3");
  EXPECT_FALSE(r1[4].paired_with_next);
  EXPECT_TRUE(r1[6].paired_with_next);
  EXPECT_TRUE(r0[7].paired_with_next);
  // Stages holding activations (F run, its W or BW not yet): the report's PP+1 on every rank (the
  // warm-up of 2(p/2-h-1) + 2(h+1) = p forwards, then the first pair's forward before its backward).
  for (int rank = 0; rank < 8; ++rank) {
    int live = 0, peak = 0;
    for (const auto& b : PipelineOrder(s, rank, 8, 32)) {
      live += b.kind == BlockKind::kForward ? 1 : b.kind == BlockKind::kInputGrad ? 0 : -1;
      peak = std::max(peak, live);
    }
    EXPECT_EQ(peak, 8 + 1) << "rank " << rank;
  }
}

}  // namespace
}  // namespace proteus
