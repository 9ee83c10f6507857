#include "simulator/compile/schedule.h"

#include <algorithm>
#include <deque>

#include "common/error.h"

namespace proteus {
namespace {

PipelineBlock Fwd(int chunk, int mb) { return {chunk, mb, BlockKind::kForward}; }
PipelineBlock Bwd(int chunk, int mb) { return {chunk, mb, BlockKind::kBackward}; }

std::vector<PipelineBlock> GPipe(int m) {
  std::vector<PipelineBlock> out;
  for (int i = 0; i < m; ++i) out.push_back(Fwd(0, i));
  for (int i = 0; i < m; ++i) out.push_back(Bwd(0, i));
  return out;
}

// One-forward-one-backward over `total` units; unit k maps to a block through `unit`.
template <typename UnitFn>
std::vector<PipelineBlock> OneFOneB(int total, int warmup, UnitFn unit) {
  warmup = std::min(warmup, total);
  std::vector<PipelineBlock> out;
  for (int k = 0; k < warmup; ++k) out.push_back(unit(k, true));
  for (int k = 0; k < total - warmup; ++k) {
    out.push_back(unit(warmup + k, true));
    out.push_back(unit(k, false));
  }
  for (int k = total - warmup; k < total; ++k) out.push_back(unit(k, false));
  return out;
}

// ZB-H1: 1F1B with each backward split, rank i keeping `held` = i weight-gradient blocks back.
// The cool-down's B's then follow each other as fast as the input gradients come back, and the
// held W's run in the gaps and after the last B.
std::vector<PipelineBlock> ZbH1(int rank, int ranks, int m) {
  std::vector<PipelineBlock> one_f_one_b =
      OneFOneB(m, ranks - rank - 1, [](int k, bool fwd) { return fwd ? Fwd(0, k) : Bwd(0, k); });
  std::vector<PipelineBlock> out;
  int held = rank, next_w = 0;
  for (const PipelineBlock& b : one_f_one_b) {
    if (b.forward()) {
      out.push_back(b);
      continue;
    }
    out.push_back({0, b.microbatch, BlockKind::kInputGrad});
    if (b.microbatch - next_w >= held) out.push_back({0, next_w++, BlockKind::kWeightGrad});
  }
  while (next_w < m) out.push_back({0, next_w++, BlockKind::kWeightGrad});
  return out;
}

// ZB-V (Qi et al. 2024, sec. 6), in the closed form PyTorch's ScheduleZBVZeroBubble builds on rank r
// of p: chunk 0 is stage r, chunk 1 stage 2p-1-r. Warm-up 2(p-r)-1 F0, r rounds F1 F0, p-r rounds
// F1 B1 W1; steady rounds F0 B0 W0 F1 B1 W1; cool-down r rounds B0 B1, p-r rounds B0 W0, then the
// W's still owed (chunk 1's first). The order is built for max(m, 2p-1) micro-batches and blocks of
// the ones beyond m dropped, as PyTorch does, so any m runs.
std::vector<PipelineBlock> ZbV(int r, int p, int m) {
  int n = std::max(m, 2 * p - 1);
  int f[2] = {0, 0}, b[2] = {0, 0};
  std::vector<PipelineBlock> out;
  auto F = [&](int c) { out.push_back(Fwd(c, f[c]++)); };
  auto B = [&](int c) { out.push_back({c, b[c]++, BlockKind::kInputGrad}); };
  auto W = [&](int c, int mb) { out.push_back({c, mb, BlockKind::kWeightGrad}); };
  for (int i = 0; i < 2 * (p - r) - 1; ++i) F(0);
  for (int i = 0; i < r; ++i) {
    F(1);
    F(0);
  }
  for (int i = 0; i < p - r; ++i) {
    F(1);
    B(1);
    W(1, b[1] - 1);
  }
  while (f[1] < f[0] || f[0] < n) {
    if (f[0] < n) F(0);
    B(0);
    W(0, b[0] - 1);
    F(1);
    B(1);
    W(1, b[1] - 1);
  }
  int w[2] = {b[0], b[1]};
  for (int i = 0; i < r; ++i) {
    B(0);
    B(1);
  }
  for (int i = 0; i < p - r; ++i) {
    B(0);
    W(0, w[0]++);
  }
  while (w[1] < b[1]) W(1, w[1]++);
  while (w[0] < b[0]) W(0, w[0]++);
  PROTEUS_CHECK(f[0] == n && f[1] == n && b[0] == n && b[1] == n && w[0] == n && w[1] == n,
                "zb-v order does not cover every block");
  std::erase_if(out, [m](const PipelineBlock& blk) { return blk.microbatch >= m; });
  return out;
}

// DualPipeV, phase for phase as deepseek-ai/DualPipe's dualpipev.py runs it on rank r of p with m
// micro-batches. Chunk 0 is stage r, chunk 1 stage 2p-1-r; each chunk runs its forwards and its
// backwards in micro-batch order, and W's run first in, first out.
class DualPipeVOrder {
 public:
  DualPipeVOrder(int rank, int ranks, int m) : r_(rank), p_(ranks), m_(m) {}

  std::vector<PipelineBlock> Build() {
    for (int i = 0; i < (p_ - r_ - 1) * 2; ++i) F(0);  // 1: nF0
    for (int i = 0; i < r_ + 1; ++i) {                 // 2: nF0F1
      F(0);
      F(1);
    }
    for (int i = 0; i < p_ - r_ - 1; ++i) {  // 3: nB1W1F1, zero bubble
      B(1, true);
      W();
      F(1);
    }
    for (int i = 0; i < m_ - 2 * p_ + r_ + 1; ++i) {  // 4 (main): nF0B1F1B0 as two F&B pairs
      // The last rank's first pair is not overlapped in DualPipe (its F0 feeds its own F1).
      Pair(0, 1, !(i == 0 && r_ == p_ - 1));
      Pair(1, 0, true);
    }
    for (int i = 0; i < p_ - r_ - 1; ++i) {  // 5: nB1F1B0
      B(1, false);
      Pair(1, 0, true);
    }
    bool zb = false;  // 6: nB1B0, the second half with W deferred
    int step6 = r_ + 1;
    for (int i = 0; i < step6; ++i) {
      if (i == step6 / 2 && r_ % 2 == 1) zb = true;
      B(1, zb);
      if (i == step6 / 2 && r_ % 2 == 0) zb = true;
      B(0, zb);
    }
    for (int i = 0; i < p_ - r_ - 1; ++i) {  // 7: nWB0, zero bubble
      W();
      B(0, true);
    }
    for (int i = 0; i < r_ + 1; ++i) W();  // 8: nW
    PROTEUS_CHECK(weights_.empty() && next_f_[0] == m_ && next_f_[1] == m_ && next_b_[0] == m_ && next_b_[1] == m_,
                  "dualpipev order does not cover every block");
    return std::move(out_);
  }

 private:
  void F(int chunk) { out_.push_back(Fwd(chunk, next_f_[chunk]++)); }
  // A backward; with `zero_bubble` its W is deferred to a later W().
  void B(int chunk, bool zero_bubble) {
    int mb = next_b_[chunk]++;
    out_.push_back({chunk, mb, zero_bubble ? BlockKind::kInputGrad : BlockKind::kBackward});
    if (zero_bubble) weights_.push_back({chunk, mb, BlockKind::kWeightGrad});
  }
  void W() {
    PROTEUS_CHECK(!weights_.empty(), "dualpipev: a W with none deferred");
    out_.push_back(weights_.front());
    weights_.pop_front();
  }
  void Pair(int f_chunk, int b_chunk, bool overlapped) {
    F(f_chunk);
    out_.back().paired_with_next = overlapped;
    B(b_chunk, false);
  }

  int r_, p_, m_;
  int next_f_[2] = {0, 0}, next_b_[2] = {0, 0};
  std::deque<PipelineBlock> weights_;
  std::vector<PipelineBlock> out_;
};

// DualPipe (deepseek-ai/DualPipe, dualpipe.py step()) on rank r of p with m micro-batches. Rank r
// and its mirror p-1-r run the same eight phases with half_rank h = min(r, p-1-r), over p/2 ranks
// and m/2 micro-batches per direction: DualPipeV's phases with those counts (a half of the ranks
// is a V whose turn-around is the middle pair). Phase 0 there is the direction that enters on this
// rank's side (dualpipe.py: phase ^= is_in_second_half): direction 0 (chunk 0, micro-batches
// 0..m/2-1, entering at rank 0) on the first half of the ranks, direction 1 (chunk 1, m/2..m-1,
// entering at rank p-1) on the second.
std::vector<PipelineBlock> DualPipe(int r, int p, int m) {
  int half_ranks = p / 2, half_m = m / 2;
  bool second_half = r >= half_ranks;
  std::vector<PipelineBlock> out = DualPipeVOrder(std::min(r, p - 1 - r), half_ranks, half_m).Build();
  for (PipelineBlock& b : out) {
    b.chunk = b.chunk ^ static_cast<int>(second_half);
    if (b.chunk == 1) b.microbatch += half_m;
  }
  return out;
}

}  // namespace

std::string_view BlockKindName(BlockKind k) {
  switch (k) {
    case BlockKind::kForward:
      return "F";
    case BlockKind::kBackward:
      return "BW";
    case BlockKind::kInputGrad:
      return "B";
    case BlockKind::kWeightGrad:
      return "W";
  }
  return "?";
}

std::vector<PipelineBlock> PipelineOrder(const Schedule& schedule, int rank, int ranks, int m) {
  PROTEUS_CHECK(rank >= 0 && rank < ranks && m > 0, "bad pipeline rank or micro-batch count");
  switch (schedule.kind) {
    case ScheduleKind::kGPipe:
      return GPipe(m);
    case ScheduleKind::k1F1B:
      return OneFOneB(m, ranks - rank - 1, [](int k, bool fwd) { return fwd ? Fwd(0, k) : Bwd(0, k); });
    case ScheduleKind::kInterleaved: {
      int v = schedule.chunks, group = ranks * v;
      PROTEUS_CHECK(m % ranks == 0, "interleaving needs micro-batches divisible by pp");
      auto unit = [=](int k, bool fwd) {
        int chunk = (k % group) / ranks, mb = (k / group) * ranks + k % ranks;
        return fwd ? Fwd(chunk, mb) : Bwd(v - 1 - chunk, mb);
      };
      return OneFOneB(m * v, (ranks - rank - 1) * 2 + (v - 1) * ranks, unit);
    }
    case ScheduleKind::kZbH1:
      return ZbH1(rank, ranks, m);
    case ScheduleKind::kZbV:
      PROTEUS_CHECK(ranks >= 2, "zb-v needs pp >= 2 (validated)");
      return ZbV(rank, ranks, m);
    case ScheduleKind::kDualPipeV:
      PROTEUS_CHECK(ranks >= 2 && m >= 2 * ranks, "dualpipev needs pp >= 2 and micro-batches >= 2 pp (validated)");
      return DualPipeVOrder(rank, ranks, m).Build();
    case ScheduleKind::kDualPipe:
      PROTEUS_CHECK(ranks >= 2 && ranks % 2 == 0 && m % 2 == 0 && m >= 2 * ranks,
                    "dualpipe needs an even pp and an even micro-batch count >= 2 pp (validated)");
      return DualPipe(rank, ranks, m);
  }
  return {};
}

bool VPlacement(const Schedule& schedule) {
  return schedule.kind == ScheduleKind::kZbV || schedule.kind == ScheduleKind::kDualPipeV;
}

bool TwoDirections(const Schedule& schedule) { return schedule.kind == ScheduleKind::kDualPipe; }

int StageOfChunk(const Schedule& schedule, int rank, int chunk, int ranks) {
  if (TwoDirections(schedule)) return chunk == 0 ? rank : ranks - 1 - rank;
  if (VPlacement(schedule)) return chunk == 0 ? rank : 2 * ranks - 1 - rank;
  return chunk * ranks + rank;
}

int RankOfStage(const Schedule& schedule, int stage, int ranks, int direction) {
  if (TwoDirections(schedule)) return direction == 0 ? stage : ranks - 1 - stage;
  if (VPlacement(schedule)) return stage < ranks ? stage : 2 * ranks - 1 - stage;
  return stage % ranks;
}

std::vector<int> RanksOfStage(const Schedule& schedule, int stage, int ranks) {
  if (!TwoDirections(schedule)) return {RankOfStage(schedule, stage, ranks)};
  int a = RankOfStage(schedule, stage, ranks, 0), b = RankOfStage(schedule, stage, ranks, 1);
  return {std::min(a, b), std::max(a, b)};  // never equal: pp is even
}

int DirectionOf(const Schedule& schedule, int mb, int m) { return TwoDirections(schedule) && mb >= m / 2 ? 1 : 0; }

std::pair<int, int> MicrobatchesOf(const Schedule& schedule, int direction, int m) {
  if (!TwoDirections(schedule)) return {0, m};
  return direction == 0 ? std::pair{0, m / 2} : std::pair{m / 2, m};
}

}  // namespace proteus
