#include "simulator/compile/schedule.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {
namespace {

std::vector<PipelineBlock> GPipe(int m) {
  std::vector<PipelineBlock> out;
  for (int i = 0; i < m; ++i) out.push_back({0, i, true});
  for (int i = 0; i < m; ++i) out.push_back({0, i, false});
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

}  // namespace

std::vector<PipelineBlock> PipelineOrder(const Schedule& schedule, int rank, int ranks, int m) {
  PROTEUS_CHECK(rank >= 0 && rank < ranks && m > 0, "bad pipeline rank or micro-batch count");
  switch (schedule.kind) {
    case ScheduleKind::kGPipe:
      return GPipe(m);
    case ScheduleKind::k1F1B:
      return OneFOneB(m, ranks - rank - 1, [](int k, bool fwd) { return PipelineBlock{0, k, fwd}; });
    case ScheduleKind::kInterleaved: {
      int v = schedule.chunks, group = ranks * v;
      PROTEUS_CHECK(m % ranks == 0, "interleaving needs micro-batches divisible by pp");
      auto unit = [=](int k, bool fwd) {
        int chunk = (k % group) / ranks;
        return PipelineBlock{fwd ? chunk : v - 1 - chunk, (k / group) * ranks + k % ranks, fwd};
      };
      return OneFOneB(m * v, (ranks - rank - 1) * 2 + (v - 1) * ranks, unit);
    }
  }
  return {};
}

}  // namespace proteus
