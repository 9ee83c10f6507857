// Communications in HTAE, in SimGrid's named steps: rendezvous (every member ready) -> latency ->
// flows (route, create, cap, attach to the solver) -> rates (max-min, re-solved on change) ->
// completion (the last flow) -> release of the member tasks.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "simulator/engine/htae.h"

namespace proteus {

void Htae::StartComm(CommId c) {
  CommState& comm = comms_[c];
  comm.phase = CommPhase::kLatency;
  result_.comm_start_s[c] = now_;
  for (TaskId m : g_.comms[c].members) BeginTask(m);
  if (interference()) OverlapCommStart(c);
  events_.Push(now_ + g_.comms[c].plan->latency_s, EventKind::kCommLatencyEnd, c, 0);
}

int32_t Htae::AllocFlow() {
  if (!free_flows_.empty()) {
    int32_t slot = free_flows_.back();
    free_flows_.pop_back();
    return slot;
  }
  flows_.emplace_back();
  return static_cast<int32_t>(flows_.size() - 1);
}

double Htae::FlowBound(const FlowState& f, double slowdown) const {
  return f.max_rate == kUnbounded ? kUnbounded : f.max_rate / slowdown;
}

void Htae::StartFlows(CommId c) {
  CommState& comm = comms_[c];
  const CollectivePlan& plan = *g_.comms[c].plan;
  comm.phase = CommPhase::kFlows;
  // One solver variable per class of flows that symmetry makes run alike (flow_folding.h).
  for (const FoldedFlow& spec : folding_.plans[folding_.plan_of_comm[c]]) {
    int32_t slot = AllocFlow();
    FlowState& f = flows_[slot];
    f.comm = c;
    f.next = comm.first_flow;
    comm.first_flow = slot;
    // The plan caps each flow at its speed alone; a missing cap (kUnbounded, flow_folding.h) leaves
    // only the links to limit it.
    f.max_rate = spec.max_rate;
    f.remaining = spec.bytes;
    f.rate = 0;
    f.last_s = now_;
    f.var = solver_.AddVariable(spec.route, FlowBound(f, comm.slowdown), spec.weights);
    if (f.var >= static_cast<int32_t>(var_flow_.size())) var_flow_.resize(f.var + 1, -1);
    var_flow_[f.var] = slot;
    ++comm.flows_left;
    ++result_.counters.flows;
  }
  if (comm.flows_left > 0) return;
  // No flow: the plan's transfer time runs locally, stretched by interference like compute.
  comm.phase = CommPhase::kLocal;
  comm.local_left_s = std::max(0.0, plan.time_s - plan.latency_s);
  comm.local_last_s = now_;
  events_.Push(now_ + comm.local_left_s * comm.slowdown, EventKind::kCommLocalEnd, c, ++comm.version);
}

// Re-solves the flows touched since the last call and reschedules those whose rate changed. Each is
// first brought up to date at its old rate.
void Htae::SyncRates() {
  solver_.Solve();
  for (MaxMinSolver::VarId v : solver_.Changed()) {
    int32_t slot = var_flow_[v];
    FlowState& f = flows_[slot];
    double dt = now_ - f.last_s;
    if (dt > 0) f.remaining = std::max(0.0, f.remaining - f.rate * dt);
    f.last_s = now_;
    f.rate = solver_.Rate(v);
    PROTEUS_CHECK(f.rate > 0, "a flow got no bandwidth");
    double left = std::isinf(f.rate) ? 0.0 : f.remaining / f.rate;
    events_.Push(now_ + left, EventKind::kFlowEnd, slot, ++f.version);
  }
}

void Htae::OnFlowEnd(int32_t slot) {
  FlowState& f = flows_[slot];
  f.remaining = 0;
  solver_.RemoveVariable(f.var);
  f.var = -1;
  CommState& comm = comms_[f.comm];
  if (--comm.flows_left == 0) EndComm(f.comm);
}

void Htae::EndComm(CommId c) {
  CommState& comm = comms_[c];
  comm.phase = CommPhase::kDone;
  for (int32_t slot = comm.first_flow; slot >= 0;) {
    int32_t next = flows_[slot].next;
    ++flows_[slot].version;  // a reused slot must not match events of its previous flow
    free_flows_.push_back(slot);
    slot = next;
  }
  comm.first_flow = -1;
  if (interference()) OverlapCommEnd(c);
  // All members end together; their successors start only once every member's memory is freed.
  const auto& members = g_.comms[c].members;
  for (TaskId m : members) CompleteTask(m);
  for (TaskId m : members) ReleaseSuccessors(m);
}

}  // namespace proteus
