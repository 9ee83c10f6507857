// Max-min fair sharing of link bandwidth between flows (SimGrid's lmm, reduced to what HTAE needs).
//
// Model. Constraints c (links) have a capacity C_c (bytes/s). Variables v (flows) have an upper
// bound B_v (their max_rate; +inf when unbounded) and use a list of constraints (their route; a
// constraint listed twice is used twice). Each use (v, c) has a weight a_{v,c} > 0 (1 unless given):
// the load it puts on c per unit of r_v. A rate vector r is feasible when
//     sum over uses (v, c) of a_{v,c} r_v <= C_c   for every c,      and 0 <= r_v <= B_v.
// Weights exist for symmetry folding: one folded variable stands for k real flows that run at the
// same rate by symmetry, so a link they all cross carries k times its rate (weight k), and a
// folded constraint can stand for several real links. Fairness stays over the rates r_v, not the loads.
// The max-min fair vector is the feasible r in which no rate can grow without shrinking a rate that
// is already no larger. It is unique, and progressive filling (water-filling) finds it:
//   all unfixed variables share one rising level L, starting at 0;
//   constraint c saturates when  fixed_c + A_c * L = C_c,  i.e. at  L_c = (C_c - fixed_c) / A_c
//     (fixed_c: load of fixed variables on c, sum of a_{v,c} r_v; A_c: sum of the weights of the
//     uses of c by unfixed variables, their count when every weight is 1);
//   variable v saturates at L = B_v;
//   take the smallest of these levels; fix the variable at its bound, or fix every unfixed
//   variable of the saturated constraint at L_c (c is the bottleneck of those variables); repeat.
// Levels only rise, so a heap of constraints keyed by L_c and the bounds sorted once give
// O(U log C) for U uses, C constraints.
//
// Worked example: links a (capacity 10) and b (capacity 4) in a chain;
//   flow 1 uses a and b, flow 2 uses a, flow 3 uses b with bound 1.
//   L_a = 10/2 = 5, L_b = 4/2 = 2, B_3 = 1  ->  fix flow 3 at 1:   fixed_b = 1, A_b = 1, L_b = 3
//   L_a = 5, L_b = 3                          ->  b saturates: flow 1 = 3;  fixed_a = 3, A_a = 1, L_a = 7
//   L_a = 7                                   ->  a saturates: flow 2 = 7.
//   Rates (3, 7, 1): a carries 10 of 10, b carries 4 of 4.
//
// Weighted example: links a (capacity 12) and b (capacity 6);
//   flow 1 uses a with weight 2 and b with weight 1, flow 2 uses a (weight 1), flow 3 uses b with
//   weight 3 (it stands for three symmetric flows on b).
//   L_a = 12/(2+1) = 4, L_b = 6/(1+3) = 1.5  ->  b saturates: flows 1, 3 = 1.5;
//                                                fixed_a = 2 * 1.5 = 3, A_a = 1, L_a = 9
//   L_a = 9                                   ->  a saturates: flow 2 = 9.
//   Rates (1.5, 9, 1.5): a carries 2*1.5 + 9 = 12 of 12, b carries 1.5 + 3*1.5 = 6 of 6.
//
// Exactness. With every weight 1 the solver does the same floating-point operations, in the same
// order, as the unweighted solver it replaced (A_c is then an exact integer and 1 * r == r), so
// unweighted results are bit for bit unchanged. With other weights A_c is kept by subtraction as
// variables are fixed; its error is a few roundings of the weights' sum per fixed use, not of A_c.
//
// Incremental solving. HTAE changes the flow set at every flow start and end, thousands of times
// per simulated second, while most flows never share a link with the change. The max-min vector
// decomposes over connected components of the flow/link graph (two flows interact only through a
// chain of shared links), so Solve() re-solves only the components that contain a variable added,
// removed or re-bounded since the last Solve(); every other rate is still exact. The component is
// found by a breadth-first walk from the changed variables and from the constraints a removed
// variable used (its removal may have split one component into several: the walk covers them all).
// Cost per Solve(): O(U_k log C_k) over the uses and constraints of the touched components only,
// and O(U_k) in the common case where the bounds of the flows fit on every link (then every flow
// simply runs at its bound).
// SolveMaxMinReference (maxmin_reference.h) solves from scratch with no heap and no components; the
// tests cross-check the two on random add/remove/re-bound sequences.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace proteus {

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

class MaxMinSolver {
 public:
  using VarId = int32_t;
  using ConstraintId = int32_t;

  /// One constraint per entry of `capacities` (bytes/s; must be > 0 and finite to be usable).
  explicit MaxMinSolver(std::vector<double> capacities);

  int NumConstraints() const { return static_cast<int>(constraints_.size()); }
  double Capacity(ConstraintId c) const { return constraints_[c].capacity; }

  /// Adds a variable using `route` (each id in [0, NumConstraints())) with upper bound `bound`
  /// (kUnbounded, or > 0). `weights` is empty (every use weighs 1) or holds, per entry of `route`,
  /// the load that use puts on its constraint per unit of rate (finite, > 0); anything else fails a
  /// PROTEUS_CHECK. Its rate is 0 until the next Solve(). Ids of removed variables are reused.
  VarId AddVariable(std::span<const ConstraintId> route, double bound, std::span<const double> weights = {});
  /// Removes an active variable; its constraints' other variables are re-solved at the next Solve().
  void RemoveVariable(VarId v);
  /// Changes the bound of an active variable (kUnbounded, or > 0).
  void SetBound(VarId v, double bound);

  /// Re-solves the components touched since the last Solve(). No-op when nothing changed.
  void Solve();
  /// True when a change awaits Solve().
  bool Dirty() const { return !dirty_vars_.empty() || !dirty_constraints_.empty(); }

  /// Rate (bytes/s) of an active variable as of the last Solve(); +inf for an unbounded variable
  /// that uses no constraint.
  double Rate(VarId v) const { return vars_[v].rate; }
  double Bound(VarId v) const { return vars_[v].bound; }
  bool Active(VarId v) const { return v >= 0 && v < static_cast<VarId>(vars_.size()) && vars_[v].active; }
  int NumActive() const { return num_active_; }
  /// Variables whose rate changed in the last Solve(), variables added since the previous Solve()
  /// included, in a deterministic order.
  std::span<const VarId> Changed() const { return changed_; }
  /// The route of an active variable (as given to AddVariable).
  std::vector<ConstraintId> Route(VarId v) const;
  /// The weight of every use of an active variable's route (1 where AddVariable was given none).
  std::vector<double> Weights(VarId v) const;

  struct Stats {
    int64_t solves = 0;             // Solve() calls that had work to do
    int64_t vars_solved = 0;        // sum over solves of the variables in touched components
    int64_t constraints_solved = 0; // same for constraints
  };
  const Stats& stats() const { return stats_; }

 private:
  // The weight is kept on both sides of a use: FixVar walks a variable's uses, BoundsFit and the
  // start of filling walk a constraint's entries, and neither should chase the other's array.
  struct Use {                 // variable v uses constraint c; `slot` is its index in c's list
    ConstraintId c;
    int32_t slot;
    double weight;
  };
  struct Entry {               // constraint c is used by variable v through v's use number `use`
    VarId v;
    int32_t use;
    double weight;             // == vars_[v].uses[use].weight
  };
  struct Var {
    double bound = kUnbounded;
    double rate = 0;
    std::vector<Use> uses;     // capacity kept across reuse of the id: no allocation in steady state
    bool active = false;
    bool is_new = false;
  };
  struct Constraint {
    double capacity = 0;
    std::vector<Entry> entries;
  };

  void QueueVar(VarId v);
  void QueueConstraint(ConstraintId c);
  void VisitConstraint(ConstraintId c);
  void CollectComponents();
  double UnfixedWeight(ConstraintId c) const;
  bool BoundsFit();
  void FillComponents();
  void FixVar(VarId v, double rate);
  void RefreshTouchedLevels();
  void RefreshLevel(ConstraintId c);
  bool LevelBefore(ConstraintId a, ConstraintId b) const;
  void SiftUp(int32_t i);
  void SiftDown(int32_t i);
  void PlaceInHeap(int32_t i, ConstraintId c);
  void RemoveFromHeap(ConstraintId c);
  void RecordChanges();

  std::vector<Var> vars_;
  std::vector<Constraint> constraints_;
  std::vector<VarId> free_vars_;
  int num_active_ = 0;

  // Pending changes, each queued once.
  std::vector<VarId> dirty_vars_;
  std::vector<ConstraintId> dirty_constraints_;
  std::vector<uint8_t> var_queued_, constraint_queued_;

  // Breadth-first walk: visited when the mark equals visit_epoch_ (no clearing between solves).
  std::vector<uint32_t> var_visit_, constraint_visit_;
  uint32_t visit_epoch_ = 0;

  // Scratch of one Solve(), kept to avoid reallocation.
  std::vector<VarId> comp_vars_;
  std::vector<ConstraintId> comp_constraints_;
  std::vector<double> remaining_;       // per constraint: capacity minus fixed loads (weight x rate)
  std::vector<int32_t> unfixed_uses_;   // per constraint: uses by unfixed variables (0: no level)
  std::vector<double> unfixed_weight_;  // per constraint: A_c, their weights' sum
  std::vector<double> new_rate_;        // per variable
  std::vector<uint32_t> fixed_mark_;    // per variable: == fill_epoch_ when fixed
  uint32_t fill_epoch_ = 1;
  // Progressive filling's queue: a binary min-heap holding each constraint with unfixed uses once,
  // keyed by (level L_c, id). The key order is strict, so which constraint saturates next does not
  // depend on how the queue is kept; a level is updated once per filling step, after every
  // variable that step fixes (a heap of stale copies grew with the uses and cost most of the time).
  std::vector<ConstraintId> heap_;
  std::vector<int32_t> heap_pos_;       // per constraint: its index in heap_, -1 when absent
  std::vector<double> level_;           // per constraint in the heap: L_c
  std::vector<ConstraintId> touched_;   // constraints whose load changed in this filling step
  std::vector<uint8_t> touched_mark_;
  std::vector<VarId> bounded_;          // component variables with a finite bound, sorted by bound
  std::vector<VarId> changed_;
  Stats stats_;
};

}  // namespace proteus
