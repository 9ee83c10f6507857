#include "simulator/engine/maxmin.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace proteus {

namespace {

bool ValidBound(double bound) { return bound == kUnbounded || (std::isfinite(bound) && bound > 0); }

// Before anything changes, so that a failed check leaves the solver as it was.
void CheckWeights(std::span<const MaxMinSolver::ConstraintId> route, std::span<const double> weights) {
  PROTEUS_CHECK(weights.empty() || weights.size() == route.size(),
                "a flow needs one weight per link of its route, or none");
  for (double w : weights) PROTEUS_CHECK(std::isfinite(w) && w > 0, "a flow's weight on a link must be finite and > 0");
}

}  // namespace

MaxMinSolver::MaxMinSolver(std::vector<double> capacities) {
  constraints_.resize(capacities.size());
  for (size_t c = 0; c < capacities.size(); ++c) constraints_[c].capacity = capacities[c];
  constraint_queued_.assign(capacities.size(), 0);
  constraint_visit_.assign(capacities.size(), 0);
  remaining_.assign(capacities.size(), 0);
  unfixed_uses_.assign(capacities.size(), 0);
  unfixed_weight_.assign(capacities.size(), 0);
  heap_pos_.assign(capacities.size(), -1);
  level_.assign(capacities.size(), 0);
  touched_mark_.assign(capacities.size(), 0);
}

MaxMinSolver::VarId MaxMinSolver::AddVariable(std::span<const ConstraintId> route, double bound,
                                              std::span<const double> weights) {
  PROTEUS_CHECK(ValidBound(bound), "a flow's bound must be > 0 or unbounded");
  CheckWeights(route, weights);
  VarId v;
  if (!free_vars_.empty()) {
    v = free_vars_.back();
    free_vars_.pop_back();
  } else {
    v = static_cast<VarId>(vars_.size());
    vars_.emplace_back();
    var_queued_.push_back(0);
    var_visit_.push_back(0);
    new_rate_.push_back(0);
    fixed_mark_.push_back(0);
  }
  Var& var = vars_[v];
  var.bound = bound;
  var.rate = 0;
  var.active = true;
  var.is_new = true;
  var.uses.clear();
  for (size_t i = 0; i < route.size(); ++i) {
    ConstraintId c = route[i];
    double weight = weights.empty() ? 1.0 : weights[i];
    PROTEUS_CHECK(c >= 0 && c < NumConstraints(), "flow route names an unknown link");
    PROTEUS_CHECK(constraints_[c].capacity > 0 && std::isfinite(constraints_[c].capacity),
                  "flow route crosses a link without a positive finite capacity");
    auto& entries = constraints_[c].entries;
    var.uses.push_back(Use{c, static_cast<int32_t>(entries.size()), weight});
    entries.push_back(Entry{v, static_cast<int32_t>(var.uses.size() - 1), weight});
  }
  ++num_active_;
  QueueVar(v);
  return v;
}

void MaxMinSolver::RemoveVariable(VarId v) {
  PROTEUS_CHECK(Active(v), "removing a flow that is not active");
  Var& var = vars_[v];
  for (const Use& use : var.uses) {
    auto& entries = constraints_[use.c].entries;
    // Swap-remove, then tell the moved entry's variable where its use now lives.
    Entry moved = entries.back();
    entries[use.slot] = moved;
    entries.pop_back();
    if (use.slot < static_cast<int32_t>(entries.size())) vars_[moved.v].uses[moved.use].slot = use.slot;
    QueueConstraint(use.c);
  }
  var.active = false;
  var.rate = 0;
  --num_active_;
  free_vars_.push_back(v);
}

void MaxMinSolver::SetBound(VarId v, double bound) {
  PROTEUS_CHECK(Active(v), "re-bounding a flow that is not active");
  PROTEUS_CHECK(ValidBound(bound), "a flow's bound must be > 0 or unbounded");
  if (vars_[v].bound == bound) return;
  vars_[v].bound = bound;
  QueueVar(v);
}

std::vector<MaxMinSolver::ConstraintId> MaxMinSolver::Route(VarId v) const {
  std::vector<ConstraintId> route;
  for (const Use& use : vars_[v].uses) route.push_back(use.c);
  return route;
}

std::vector<double> MaxMinSolver::Weights(VarId v) const {
  std::vector<double> weights;
  for (const Use& use : vars_[v].uses) weights.push_back(use.weight);
  return weights;
}

void MaxMinSolver::QueueVar(VarId v) {
  if (var_queued_[v]) return;
  var_queued_[v] = 1;
  dirty_vars_.push_back(v);
}

void MaxMinSolver::QueueConstraint(ConstraintId c) {
  if (constraint_queued_[c]) return;
  constraint_queued_[c] = 1;
  dirty_constraints_.push_back(c);
}

void MaxMinSolver::Solve() {
  changed_.clear();
  if (!Dirty()) return;
  CollectComponents();
  FillComponents();
  RecordChanges();
  ++stats_.solves;
  stats_.vars_solved += static_cast<int64_t>(comp_vars_.size());
  stats_.constraints_solved += static_cast<int64_t>(comp_constraints_.size());
}

void MaxMinSolver::VisitConstraint(ConstraintId c) {
  if (constraint_visit_[c] == visit_epoch_) return;
  constraint_visit_[c] = visit_epoch_;
  comp_constraints_.push_back(c);
}

// Breadth-first walk over variable -> constraint -> variable from every pending change. The
// constraint list doubles as the walk's queue.
void MaxMinSolver::CollectComponents() {
  ++visit_epoch_;
  comp_vars_.clear();
  comp_constraints_.clear();
  for (VarId v : dirty_vars_) {
    var_queued_[v] = 0;
    if (!vars_[v].active || var_visit_[v] == visit_epoch_) continue;
    var_visit_[v] = visit_epoch_;
    comp_vars_.push_back(v);
    for (const Use& use : vars_[v].uses) VisitConstraint(use.c);
  }
  for (ConstraintId c : dirty_constraints_) {
    constraint_queued_[c] = 0;
    VisitConstraint(c);
  }
  dirty_vars_.clear();
  dirty_constraints_.clear();
  for (size_t head = 0; head < comp_constraints_.size(); ++head) {
    for (const Entry& e : constraints_[comp_constraints_[head]].entries) {
      if (var_visit_[e.v] == visit_epoch_) continue;
      var_visit_[e.v] = visit_epoch_;
      comp_vars_.push_back(e.v);
      for (const Use& use : vars_[e.v].uses) VisitConstraint(use.c);
    }
  }
}

void MaxMinSolver::FixVar(VarId v, double rate) {
  fixed_mark_[v] = fill_epoch_;
  new_rate_[v] = rate;
  for (const Use& use : vars_[v].uses) {
    ConstraintId c = use.c;
    remaining_[c] -= use.weight * rate;
    --unfixed_uses_[c];
    unfixed_weight_[c] -= use.weight;
    // The count, not the weight sum, says whether c still has unfixed uses: the sum of non-unit
    // weights can keep a rounding residue after its last use is fixed, and can cancel to <= 0 before
    // that when the weights span many orders of magnitude (then it is summed afresh; unit weights
    // never get here).
    if (unfixed_uses_[c] > 0 && !(unfixed_weight_[c] > 0)) unfixed_weight_[c] = UnfixedWeight(c);
    if (!touched_mark_[c]) {
      touched_mark_[c] = 1;
      touched_.push_back(c);
    }
  }
}

void MaxMinSolver::RefreshTouchedLevels() {
  for (ConstraintId c : touched_) {
    touched_mark_[c] = 0;
    RefreshLevel(c);
  }
  touched_.clear();
}

// Puts c in the heap at its current level, moves it there, or takes it out once nothing on it is
// unfixed.
void MaxMinSolver::RefreshLevel(ConstraintId c) {
  if (unfixed_uses_[c] == 0) {
    if (heap_pos_[c] >= 0) RemoveFromHeap(c);
    return;
  }
  level_[c] = std::max(remaining_[c], 0.0) / unfixed_weight_[c];
  if (heap_pos_[c] < 0) {
    heap_.push_back(c);
    heap_pos_[c] = static_cast<int32_t>(heap_.size() - 1);
  }
  SiftUp(heap_pos_[c]);
  SiftDown(heap_pos_[c]);
}

bool MaxMinSolver::LevelBefore(ConstraintId a, ConstraintId b) const {
  return level_[a] != level_[b] ? level_[a] < level_[b] : a < b;
}

void MaxMinSolver::PlaceInHeap(int32_t i, ConstraintId c) {
  heap_[i] = c;
  heap_pos_[c] = i;
}

void MaxMinSolver::SiftUp(int32_t i) {
  ConstraintId c = heap_[i];
  while (i > 0) {
    int32_t parent = (i - 1) / 2;
    if (!LevelBefore(c, heap_[parent])) break;
    PlaceInHeap(i, heap_[parent]);
    i = parent;
  }
  PlaceInHeap(i, c);
}

void MaxMinSolver::SiftDown(int32_t i) {
  ConstraintId c = heap_[i];
  int32_t n = static_cast<int32_t>(heap_.size());
  while (true) {
    int32_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && LevelBefore(heap_[child + 1], heap_[child])) ++child;
    if (!LevelBefore(heap_[child], c)) break;
    PlaceInHeap(i, heap_[child]);
    i = child;
  }
  PlaceInHeap(i, c);
}

void MaxMinSolver::RemoveFromHeap(ConstraintId c) {
  int32_t i = heap_pos_[c];
  heap_pos_[c] = -1;
  ConstraintId last = heap_.back();
  heap_.pop_back();
  if (last == c) return;
  PlaceInHeap(i, last);
  SiftUp(i);
  SiftDown(heap_pos_[last]);
}

// A_c summed in entry order (so that unit weights give exactly the entry count), over the entries
// whose variable is not fixed yet in this fill.
double MaxMinSolver::UnfixedWeight(ConstraintId c) const {
  double sum = 0;
  for (const Entry& e : constraints_[c].entries) {
    if (fixed_mark_[e.v] != fill_epoch_) sum += e.weight;
  }
  return sum;
}

// The common case: no link is oversubscribed by the bounds of its flows. Every variable then runs at
// its bound, which is feasible and cannot grow: the max-min vector, found in O(uses) without a heap.
bool MaxMinSolver::BoundsFit() {
  for (ConstraintId c : comp_constraints_) {
    double load = 0;
    for (const Entry& e : constraints_[c].entries) load += e.weight * vars_[e.v].bound;
    if (!(load <= constraints_[c].capacity)) return false;  // also false for an unbounded variable
  }
  for (VarId v : comp_vars_) new_rate_[v] = vars_[v].bound;
  return true;
}

// Progressive filling over the collected components (see the header for the math).
void MaxMinSolver::FillComponents() {
  if (BoundsFit()) return;
  ++fill_epoch_;
  heap_.clear();
  bounded_.clear();
  for (ConstraintId c : comp_constraints_) {
    remaining_[c] = constraints_[c].capacity;
    unfixed_uses_[c] = static_cast<int32_t>(constraints_[c].entries.size());
    if (unfixed_uses_[c] == 0) continue;
    unfixed_weight_[c] = UnfixedWeight(c);
    level_[c] = std::max(remaining_[c], 0.0) / unfixed_weight_[c];
    heap_.push_back(c);
    heap_pos_[c] = static_cast<int32_t>(heap_.size() - 1);
  }
  for (int32_t i = static_cast<int32_t>(heap_.size()) / 2 - 1; i >= 0; --i) SiftDown(i);
  for (VarId v : comp_vars_) {
    if (vars_[v].bound != kUnbounded) bounded_.push_back(v);
  }
  std::sort(bounded_.begin(), bounded_.end(), [this](VarId a, VarId b) {
    return vars_[a].bound != vars_[b].bound ? vars_[a].bound < vars_[b].bound : a < b;
  });
  size_t next_bounded = 0;
  while (true) {
    while (next_bounded < bounded_.size() && fixed_mark_[bounded_[next_bounded]] == fill_epoch_) ++next_bounded;
    bool have_bound = next_bounded < bounded_.size();
    if (heap_.empty() && !have_bound) break;
    if (have_bound && (heap_.empty() || vars_[bounded_[next_bounded]].bound <= level_[heap_.front()])) {
      VarId v = bounded_[next_bounded];
      FixVar(v, vars_[v].bound);
      RefreshTouchedLevels();
      continue;
    }
    // The constraint with the lowest level saturates: it is the bottleneck of its unfixed variables.
    ConstraintId top = heap_.front();
    double level = level_[top];
    RemoveFromHeap(top);
    const auto& entries = constraints_[top].entries;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (fixed_mark_[entries[i].v] != fill_epoch_) FixVar(entries[i].v, level);
    }
    RefreshTouchedLevels();
  }
  // Only unbounded variables without constraints are left: nothing limits them.
  for (VarId v : comp_vars_) {
    if (fixed_mark_[v] != fill_epoch_) FixVar(v, kUnbounded);
  }
}

void MaxMinSolver::RecordChanges() {
  for (VarId v : comp_vars_) {
    Var& var = vars_[v];
    if (var.is_new || var.rate != new_rate_[v]) changed_.push_back(v);
    var.rate = new_rate_[v];
    var.is_new = false;
  }
}

}  // namespace proteus
