// Which data-parallel gradients share one all-reduce, per method (strategy/dp_method.h).
//
// Model. The backward produces gradients g_0, g_1, ... in production order (the last layer's
// first); g_k is ready at r_k (non-decreasing: the end of its weight-gradient step on the in-order
// compute stream, from the priced step durations) and holds p_k bytes. A grouping cuts that
// sequence into consecutive groups, one all-reduce each. The all-reduces run one at a time on the
// data-parallel stream; under the alpha-beta model an all-reduce of P bytes takes alpha + beta P, so
// group j starts at s_j = max(e_{j-1}, r_last(j), not_before_j) and ends at e_j = s_j + alpha + beta P_j.
//   bsp    one group after the backward;
//   wfbp   one group per gradient (wait-free backpropagation);
//   fusion Horovod: its background loop wakes every cycle c (ticks at k c from the backward's start,
//          k = 0, 1, ...); at each tick the gradients ready and not yet sent are fused, in order, into
//          buffers of at most `threshold` bytes (one larger gradient goes alone), each issued at the
//          tick (not_before); c = 0 fuses only gradients ready at the same instant;
//   mgwfbp MG-WFBP (Shi et al., INFOCOM 2019): walking in production order, g_k joins the open
//          group when r_k - s < alpha, s being the open group's start: waiting for g_k delays the
//          group by r_k - s and saves the start-up alpha of a separate all-reduce. The rule "merge
//          when the open all-reduce would not start before g_k is ready" (r_k <= s) is its case of
//          no delay. Each merge leaves the end of the chain no later than without it, and a new
//          group opens only after r_k >= s + alpha, so the result is never slower than wfbp nor
//          than bsp under the same alpha and beta (tests/compile/grad_grouping_test.cc checks both).
//
// Worked example (alpha 1 ms, beta ~ 0; r = 0, 0.5, 3 ms): mgwfbp opens {g0} at s 0, takes g1
// (0.5 - 0 < 1; s 0.5), closes at g2 (3 - 0.5 >= 1; e 1.5), then {g2} runs 3..4: two all-reduces,
// done at 4 ms; wfbp runs three (0..1, 1..2, 3..4), also done at 4; bsp one, 3..4.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace proteus {

struct GradReady {
  double ready_s = 0;  // when the gradient is written
  int64_t bytes = 0;
};

/// All-reduce time alpha + beta * bytes.
struct AlphaBeta {
  double alpha_s = 0;
  double beta_s_per_byte = 0;
  double Time(int64_t bytes) const { return alpha_s + beta_s_per_byte * static_cast<double>(bytes); }
};

/// Consecutive gradients [first, last] reduced by one all-reduce, not issued before `not_before_s`.
struct GradGroup {
  int first = 0, last = 0;
  double not_before_s = 0;
};

std::vector<GradGroup> GroupBsp(const std::vector<GradReady>& grads);
std::vector<GradGroup> GroupWfbp(const std::vector<GradReady>& grads);
/// Horovod tensor fusion; `threshold_bytes` >= 0, `cycle_s` >= 0.
std::vector<GradGroup> GroupFusion(const std::vector<GradReady>& grads, int64_t threshold_bytes, double cycle_s);
std::vector<GradGroup> GroupMgWfbp(const std::vector<GradReady>& grads, const AlphaBeta& ab);

/// When the last group's all-reduce ends under the alpha-beta model (the Model above); 0 with none.
double AlphaBetaEnd(const std::vector<GradReady>& grads, const std::vector<GradGroup>& groups, const AlphaBeta& ab);

/// alpha and beta through the points (small, time(small)) and (large, time(large)) of a collective
/// model's all-reduce curve (large > small > 0; else beta 0 and alpha time(small)); both clamped at
/// 0. MG-WFBP fits the two over the sizes it will merge, as its paper fits measured all-reduces.
AlphaBeta FitAlphaBeta(const std::function<double(int64_t)>& time, int64_t small, int64_t large);

}  // namespace proteus
