#include "simulator/search/pipeline_replay.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "simulator/compile/schedule.h"

namespace proteus {
namespace {

bool Split(const Schedule& s) {
  return s.kind == ScheduleKind::kZbH1 || s.kind == ScheduleKind::kZbV || s.kind == ScheduleKind::kDualPipeV;
}

constexpr double kPending = -1;  // a block not run yet

struct Done {
  std::vector<double> f, b;  // per (stage, micro-batch): when F / B (or BW) ended
  int m = 0;
  double& F(int s, int mb) { return f[static_cast<size_t>(s) * m + mb]; }
  double& B(int s, int mb) { return b[static_cast<size_t>(s) * m + mb]; }
};

}  // namespace

ReplayResult ReplayPipeline(const Schedule& schedule, int p, int m, const std::vector<StageBlocks>& stages,
                            double p2p_s, bool p2p_overlaps) {
  const int n_stages = static_cast<int>(stages.size());
  const bool split = Split(schedule);
  std::vector<std::vector<PipelineBlock>> order(p);
  for (int r = 0; r < p; ++r) order[r] = PipelineOrder(schedule, r, p, m);
  Done done{std::vector<double>(static_cast<size_t>(n_stages) * m, kPending),
            std::vector<double>(static_cast<size_t>(n_stages) * m, kPending), m};
  ReplayResult out{std::vector<double>(p, 0), std::vector<double>(p, 0), std::vector<int>(p, 0)};
  std::vector<size_t> next(p, 0);
  std::vector<int> in_flight(p, 0);
  size_t remaining = 0;
  for (const auto& o : order) remaining += o.size();
  while (remaining > 0) {
    bool progressed = false;
    for (int r = 0; r < p; ++r) {
      for (; next[r] < order[r].size(); ++next[r]) {
        const PipelineBlock& blk = order[r][next[r]];
        const int s = StageOfChunk(schedule, r, blk.chunk, p), mb = blk.microbatch;
        const StageBlocks& cost = stages[s];
        // The input: its producer's end, plus a p2p when the producer is on another rank.
        int from = -1;
        double ready = 0;
        if (blk.kind == BlockKind::kForward) {
          if (s > 0) from = s - 1, ready = done.F(from, mb);
        } else if (blk.kind == BlockKind::kWeightGrad) {
          ready = done.B(s, mb);
        } else if (s == n_stages - 1) {
          ready = done.F(s, mb);
        } else {
          from = s + 1, ready = done.B(from, mb);
        }
        if (ready == kPending) break;
        if (from >= 0 && RankOfStage(schedule, from, p) != r) ready += p2p_s;
        double duration = cost.forward;
        if (blk.kind == BlockKind::kWeightGrad) duration = cost.weight;
        else if (blk.kind != BlockKind::kForward) duration = split && blk.kind == BlockKind::kInputGrad
                                                                 ? cost.backward - cost.weight
                                                                 : cost.backward;
        const double start = std::max(out.rank_end_s[r], ready), end = start + duration;
        out.rank_end_s[r] = end;
        // A blocking send holds the rank while the output goes to another rank.
        const int to = blk.kind == BlockKind::kForward ? s + 1 : s - 1;
        const bool sends = blk.kind != BlockKind::kWeightGrad && to >= 0 && to < n_stages &&
                           RankOfStage(schedule, to, p) != r;
        if (sends && !p2p_overlaps) out.rank_end_s[r] += p2p_s;
        if (blk.kind == BlockKind::kForward) {
          done.F(s, mb) = end;
          out.max_in_flight[r] = std::max(out.max_in_flight[r], ++in_flight[r]);
        } else if (blk.kind != BlockKind::kWeightGrad) {
          done.B(s, mb) = end;
          --in_flight[r];
          out.last_backward_s[r] = cost.backward;
        }
        --remaining;
        progressed = true;
      }
    }
    if (!progressed) throw InternalError("pipeline replay: the block orders of " + std::to_string(p) + " ranks deadlock");
  }
  return out;
}

}  // namespace proteus
