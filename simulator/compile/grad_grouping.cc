#include "simulator/compile/grad_grouping.h"

#include <algorithm>
#include <cmath>

namespace proteus {

std::vector<GradGroup> GroupBsp(const std::vector<GradReady>& grads) {
  if (grads.empty()) return {};
  return {{0, static_cast<int>(grads.size()) - 1, 0}};
}

std::vector<GradGroup> GroupWfbp(const std::vector<GradReady>& grads) {
  std::vector<GradGroup> groups;
  for (int k = 0; k < static_cast<int>(grads.size()); ++k) groups.push_back({k, k, 0});
  return groups;
}

namespace {

// The first tick of a cycle of `cycle_s` at or after t (t itself when there is no cycle).
double NextTick(double t, double cycle_s) {
  if (cycle_s <= 0) return t;
  return std::ceil(t / cycle_s) * cycle_s;
}

}  // namespace

std::vector<GradGroup> GroupFusion(const std::vector<GradReady>& grads, int64_t threshold_bytes, double cycle_s) {
  std::vector<GradGroup> groups;
  const int n = static_cast<int>(grads.size());
  for (int i = 0; i < n;) {
    const double tick = NextTick(grads[i].ready_s, cycle_s);
    int end = i;  // gradients i..end-1 are ready at the tick
    while (end < n && grads[end].ready_s <= tick) ++end;
    // Horovod fuses the ready responses in order while the buffer stays within the threshold.
    for (int first = i; first < end;) {
      int64_t bytes = grads[first].bytes;
      int last = first;
      while (last + 1 < end && bytes + grads[last + 1].bytes <= threshold_bytes) bytes += grads[++last].bytes;
      groups.push_back({first, last, tick});
      first = last + 1;
    }
    i = end;
  }
  return groups;
}

std::vector<GradGroup> GroupMgWfbp(const std::vector<GradReady>& grads, const AlphaBeta& ab) {
  std::vector<GradGroup> groups;
  if (grads.empty()) return groups;
  GradGroup open{0, 0, 0};
  int64_t open_bytes = grads[0].bytes;
  double end = 0;                   // of the groups closed so far
  double start = grads[0].ready_s;  // of the open group
  for (int k = 1; k < static_cast<int>(grads.size()); ++k) {
    if (grads[k].ready_s - start < ab.alpha_s) {  // waiting for g_k costs less than its own start-up
      open.last = k;
      open_bytes += grads[k].bytes;
      start = std::max(start, grads[k].ready_s);
      continue;
    }
    groups.push_back(open);
    end = start + ab.Time(open_bytes);
    open = {k, k, 0};
    open_bytes = grads[k].bytes;
    start = std::max(end, grads[k].ready_s);
  }
  groups.push_back(open);
  return groups;
}

double AlphaBetaEnd(const std::vector<GradReady>& grads, const std::vector<GradGroup>& groups, const AlphaBeta& ab) {
  double end = 0;
  for (const GradGroup& g : groups) {
    int64_t bytes = 0;
    for (int k = g.first; k <= g.last; ++k) bytes += grads[k].bytes;
    double start = std::max({end, grads[g.last].ready_s, g.not_before_s});
    end = start + ab.Time(bytes);
  }
  return end;
}

AlphaBeta FitAlphaBeta(const std::function<double(int64_t)>& time, int64_t small, int64_t large) {
  const double t_small = time(small);
  if (large <= small || small <= 0) return {std::max(0.0, t_small), 0};
  const double beta = std::max(0.0, (time(large) - t_small) / static_cast<double>(large - small));
  return {std::max(0.0, t_small - beta * static_cast<double>(small)), beta};
}

}  // namespace proteus
