#include "simulator/compile/compile.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "common/error.h"
#include "simulator/compile/backward_split.h"
#include "simulator/compile/comm_buffers.h"
#include "simulator/compile/host_offload.h"
#include "simulator/compile/mesh.h"
#include "simulator/compile/mirror_links.h"
#include "simulator/compile/program.h"
#include "simulator/compile/ps_server.h"
#include "simulator/compile/ring_shift.h"
#include "simulator/compile/schedule.h"
#include "simulator/compile/symmetry_refusal.h"
#include "simulator/compile/tp_overlap.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/strategy/validate.h"

namespace proteus {
namespace {

// The default simulation budget. Above every shipped suite, golden, demo and test (the largest, the
// SC21 table's 529.6B case on 3,072 GPUs with 512 micro-batches, is 4.1M tasks; the demo, GPT-3 175B
// on 1,024 GPUs, ~20k with symmetry), and below what a laptop holds: ~1 GiB at kBytesPerTask.
// GPT-3 175B tp 8 pp 8 with --no-symmetry on 16,384 GPUs (7.6M tasks, 1.35 GB, 98 s on a loaded
// 2-core machine) is refused unless --max-tasks raises the budget.
constexpr int64_t kDefaultMaxTasks = 6'000'000;
// Peak resident bytes per task of a simulated run (graph: task, dependencies, memory effects, comm
// members; engine state), measured: that 16,384-GPU run peaked at 1,351,036 KB for 7,583,744 tasks.
constexpr int64_t kBytesPerTask = 180;

// The engine keeps a simulated GPU's index in 16 bits (engine/htae.h, HotTask::gpu).
constexpr int kMaxSimulatedGpus = 65535;

// "12,345,678": counts in messages are read by people.
std::string Grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Collective and p2p steps of a list: the Comms its instances can add.
size_t CommSteps(const std::vector<Step>& steps) {
  return static_cast<size_t>(std::count_if(steps.begin(), steps.end(), [](const Step& st) {
    return st.kind == TaskKind::kCollective || st.kind == TaskKind::kP2P;
  }));
}

// The Comm of each group leader for the step being emitted: one Comm per group, whose members are
// the group's simulated ranks. A leader is a rank (collectives) or -1 - rank (p2p), so a flat array
// over both ranges finds it at once; Clear resets only the entries the step touched. (A std::map
// here cost an allocation per collective instance.)
class LeaderComms {
 public:
  explicit LeaderComms(int ranks) : ranks_(ranks), comm_(2 * static_cast<size_t>(ranks), -1) {}
  /// The slot of `leader` (-1 while its group has no Comm yet; the caller fills it).
  CommId* Find(int leader) {
    const size_t i = static_cast<size_t>(leader >= 0 ? leader : ranks_ - 1 - leader);
    PROTEUS_CHECK(i < comm_.size(), "group leader outside the mesh");
    if (comm_[i] < 0) touched_.push_back(i);
    return &comm_[i];
  }
  void Clear() {
    for (size_t i : touched_) comm_[i] = -1;
    touched_.clear();
  }

 private:
  int ranks_;
  std::vector<CommId> comm_;
  std::vector<size_t> touched_;
};

class Instantiator {
 public:
  Instantiator(const CompileInputs& in, const CompileOptions& opt, const DeviceMesh& mesh, const JobProgram& job,
               ExecGraph& g)
      : in_(in), s_(*in.strategy), mesh_(mesh), job_(job), g_(g), pp_axis_(mesh.AxisIndex("pp")),
        host_(*in.cluster, mesh, pp_axis_), ps_(MakePsServers(*in.strategy, mesh.NumRanks(), *in.cluster)),
        budget_(TaskBudget(opt.max_tasks)),
        mirror_links_(*in.cluster, *in.collectives), leader_comms_(mesh.NumRanks()) {}

  void Run(bool symmetry, bool orbit_mirrors) {
    symmetry_ = symmetry;
    orbit_mirrors_ = orbit_mirrors;
    AddGpus(symmetry);
    int pp = s_.PipelineRanks(), stages = s_.VirtualStages();
    m_ = static_cast<int>(s_.NumMicrobatches());
    for (const StageProgram& prog : job_.stages) weight_part_.push_back(WeightGradSteps(prog.backward));
    std::vector<std::vector<PipelineBlock>> order = BlockOrders(pp);
    fwd_done_.assign(stages, std::vector<char>(m_, 0));
    bwd_done_ = fwd_done_;
    std::vector<size_t> next(pp, 0);
    // Emit blocks in an order where every cross-stage dependency already exists (AddTask needs it);
    // valid schedules always make progress.
    for (bool progress = true; progress;) {
      progress = false;
      for (int p = 0; p < pp; ++p) {
        while (next[p] < order[p].size()) {
          const PipelineBlock& b = order[p][next[p]];
          bool pair = b.paired_with_next && next[p] + 1 < order[p].size();
          if (!Ready(p, b) || (pair && !Ready(p, order[p][next[p] + 1]))) break;
          if (pair) {
            EmitPair(p, b, order[p][next[p] + 1]);
            next[p] += 2;
          } else {
            EmitBlock(p, b, {});
            ++next[p];
          }
          progress = true;
        }
      }
    }
    for (int p = 0; p < pp; ++p)
      PROTEUS_CHECK(next[p] == order[p].size(), "pipeline schedule deadlocks at rank " + std::to_string(p));
    PROTEUS_CHECK(pending_w_.empty(), "a B block's W never ran");
    for (int p = 0; p < pp; ++p) EmitTail(p);
  }

 private:
  int PpCoord(int rank) const { return pp_axis_ < 0 ? 0 : mesh_.Coord(rank, pp_axis_); }
  int RankOnPp(int rank, int p) const { return pp_axis_ < 0 ? rank : mesh_.WithCoord(rank, pp_axis_, p); }

  // Tasks and Comms a graph holds: one task per step of each block per simulated rank, plus the
  // tail: an upper bound (steps of the first or last micro-batch only count in every block). At
  // most one Comm per collective or p2p step.
  struct GraphSize {
    size_t tasks = 0, comms = 0;
  };

  // What pipeline rank p's blocks in `order` add to the graph, over all its simulated GPUs.
  GraphSize SizeOf(int p, const std::vector<PipelineBlock>& order) const {
    size_t per_sim = job_.ranks[p].tail.size(), comms_per_sim = CommSteps(job_.ranks[p].tail);
    for (const PipelineBlock& b : order) {
      const StageProgram& prog = job_.stages[StageOf(p, b)];
      if (b.kind == BlockKind::kForward) {
        per_sim += prog.forward.size();
        comms_per_sim += fwd_comm_steps_[StageOf(p, b)];
      } else if (b.kind != BlockKind::kWeightGrad) {  // B and W split one list
        per_sim += prog.backward.size();
        comms_per_sim += bwd_comm_steps_[StageOf(p, b)];
      }
    }
    return {per_sim * sims_[p].size(), comms_per_sim * sims_[p].size()};
  }

  // Each pipeline rank's blocks in schedule order, once the graph they make is known to fit the
  // budget: counted rank by rank before any task is built, and refused (no order kept past the
  // budget) when larger. The graph's arrays are then reserved, so they are written once instead of
  // copied at every regrowth.
  std::vector<std::vector<PipelineBlock>> BlockOrders(int pp) {
    for (const StageProgram& prog : job_.stages) {
      fwd_comm_steps_.push_back(CommSteps(prog.forward));
      bwd_comm_steps_.push_back(CommSteps(prog.backward));
    }
    std::vector<std::vector<PipelineBlock>> order(pp);
    GraphSize size;
    for (int p = 0; p < pp; ++p) {
      std::vector<PipelineBlock> blocks = PipelineOrder(s_.schedule, p, pp, m_);
      GraphSize add = SizeOf(p, blocks);
      size.tasks += add.tasks;
      size.comms += add.comms;
      if (size.tasks <= static_cast<size_t>(budget_)) order[p] = std::move(blocks);
    }
    if (size.tasks > static_cast<size_t>(budget_)) RefuseOverBudget(static_cast<int64_t>(size.tasks));
    g_.tasks.reserve(g_.tasks.size() + size.tasks);
    g_.comms.reserve(g_.comms.size() + size.comms);
    return order;
  }

  [[noreturn]] void RefuseOverBudget(int64_t tasks) const {
    char memory[32];
    std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(tasks) * kBytesPerTask / (1 << 30));
    const int64_t simulated = static_cast<int64_t>(g_.gpus.size());
    std::string fewer = simulated > s_.PipelineRanks() ? "simulate one GPU per symmetry class (without --no-symmetry)"
                                                        : "use fewer micro-batches";
    throw UserError("--max-tasks", "the run would simulate " + Grouped(tasks) + " tasks (" + Grouped(simulated) + " of " +
                                       Grouped(mesh_.NumRanks()) + " GPUs simulated, " + Grouped(m_) +
                                       " micro-batches; about " + memory + "), more than the budget of " +
                                       Grouped(budget_) + " tasks; raise it (--max-tasks " + std::to_string(tasks) +
                                       ") or " + fewer);
  }

  void AddGpus(bool symmetry) {
    int n = mesh_.NumRanks(), pp = s_.PipelineRanks();
    if (int simulated = symmetry ? pp : n; simulated > kMaxSimulatedGpus)
      throw UserError(symmetry ? "--pp" : "--no-symmetry",
                      "the run would simulate " + Grouped(simulated) + " GPUs; the engine simulates at most " +
                          Grouped(kMaxSimulatedGpus) + " at once" +
                          (symmetry ? "" : ": simulate one GPU per symmetry class (without --no-symmetry)"));
    sims_.assign(pp, {});
    std::map<std::string, int64_t> capacity_by_type;
    for (int r = 0; r < n; ++r) {
      bool representative = true;
      for (int a = 0; a < mesh_.NumAxes(); ++a)
        if (a != pp_axis_ && mesh_.Coord(r, a) != 0) representative = false;
      if (symmetry && !representative) continue;
      SimGpu gpu;
      gpu.global_id = r;
      gpu.multiplicity = symmetry ? n / pp : 1;
      gpu.label = mesh_.Label(r);
      gpu.memory_capacity = Capacity(r, capacity_by_type);
      const RankState& rs = job_.ranks[PpCoord(r)];
      gpu.static_memory[static_cast<int>(MemCategory::kWeights)] = rs.weight_bytes + rs.fp8_weight_bytes;
      gpu.static_memory[static_cast<int>(MemCategory::kGradients)] = rs.grad_bytes;
      gpu.static_memory[static_cast<int>(MemCategory::kOptimizer)] = rs.optimizer_bytes;
      gpu.host_optimizer_bytes = rs.host_optimizer_bytes;  // optimizer offload (host_offload.h)
      gpu.host_gradient_bytes = rs.host_grad_bytes;
      gpu.host_activation_bytes = rs.host_activation_bytes;  // activation offload (program_act_offload.cc)
      gpu.memory_reserve = s_.memory.reserve_bytes;
      gpu.fragmentation = s_.memory.fragmentation;
      sims_[PpCoord(r)].push_back({r, static_cast<int>(g_.gpus.size())});
      g_.gpus.push_back(std::move(gpu));
    }
    g_.total_gpus = n;
    g_.link_capacity = in_.cluster->graph.Bandwidths();
    if (ps_)  // the separate server hosts' NICs (ps_server.h)
      for (double c : ps_->ExtraLinkCapacities()) g_.link_capacity.push_back(c);
  }

  int64_t Capacity(GpuId g, std::map<std::string, int64_t>& by_type) const {
    if (in_.gpu_memory) return in_.gpu_memory(g);
    const std::string& type = in_.cluster->GroupOf(g).gpu_type;
    auto it = by_type.find(type);
    if (it == by_type.end()) it = by_type.emplace(type, LoadGpuSpec(type).memory_bytes).first;
    return it->second;
  }

  const CollectivePlan& Plan(CollOp op, const std::vector<GpuId>& group, int64_t bytes, DType dtype) {
    auto key = std::make_tuple(static_cast<int>(op), group, bytes, static_cast<int>(dtype));
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.emplace(key, in_.collectives->Plan({op, group, bytes, dtype})).first;
    return it->second;
  }

  // A step's plan on `group`: a collective's or p2p transfer's, or a ring shift's (IsRingShift).
  const CollectivePlan& PlanOf(const Step& st, const std::vector<GpuId>& group) {
    if (!IsRingShift(st)) return Plan(st.op, group, st.bytes, st.dtype);
    auto key = std::make_tuple(-1, group, st.bytes, static_cast<int>(st.dtype));
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.emplace(key, RingShiftPlan(*in_.collectives, group, st.bytes, st.dtype)).first;
    return it->second;
  }

  // The members of step st's group as seen from `rank`, in coordinate order; a p2p peer is the
  // rank of its stage in micro-batch mb's direction (dualpipe holds each stage on two ranks).
  std::vector<GpuId> GroupOf(const Step& st, int rank, int mb) const {
    if (st.kind == TaskKind::kP2P) return {rank, RankOnPp(rank, RankOf(st.peer_stage, mb))};
    if (st.pp_peers.empty()) return mesh_.Group(rank, st.axis, st.span);
    std::vector<GpuId> group;
    for (int p : st.pp_peers) group.push_back(RankOnPp(rank, p));
    return group;
  }

  // A step's plan on a rank is the same in every micro-batch: found by the step's address before
  // the content key (which builds the group and compares tuples) is consulted.
  // The key needs no direction: a dualpipe step runs on a rank in one direction only (stage s is
  // on rank s in direction 0 and on p-1-s in direction 1, never the same rank as pp is even).
  const std::shared_ptr<const CollectivePlan>& StepPlan(const Step& st, int rank, int leader, int mb) {
    auto [it, fresh] = step_plans_.try_emplace(StepRank{&st, rank});
    if (fresh) {
      std::vector<GpuId> group = GroupOf(st, rank, mb);
      PROTEUS_CHECK(st.kind == TaskKind::kP2P || group.front() == leader, "a group led by a rank not its first member");
      it->second = CommPlan(st, rank, group, mb);
    }
    return it->second;
  }

  // The plan every comm of step `st` on `rank`'s group runs, whatever the micro-batch: the group's
  // plan, with userbuffer start-up for pipelined pieces and, under symmetry, the mirror groups'
  // flows. Built once per content key and shared by every comm with that key.
  std::shared_ptr<const CollectivePlan> CommPlan(const Step& st, int rank, const std::vector<GpuId>& group, int mb) {
    // Keyed by what the plan depends on, not by the step: the gradient buckets of a stage, its
    // layers' tp all-reduces, ... share one plan, which flow folding then sees once.
    if (st.ps_push_pull) return PsPlan(st, group);
    bool p2p = st.kind == TaskKind::kP2P;
    CommPlanKey key{static_cast<int>(st.op), st.bytes,  static_cast<int>(st.dtype), st.userbuffer_pieces,
                    p2p ? -1 : st.axis,      p2p ? PeerKey(st, mb) : -1, st.pp_peers, rank,
                    SpanKey(st.span)};
    auto [it, fresh] = comm_plans_.try_emplace(std::move(key));
    if (!fresh) return it->second;
    CollectivePlan plan = PlanOf(st, group);
    double piece_startup = st.userbuffer_pieces * kUserbufferLatencyS;
    if (st.userbuffer_pieces > 0 && plan.latency_s > piece_startup) {
      plan.time_s -= plan.latency_s - piece_startup;
      plan.latency_s = piece_startup;
    }
    if (symmetry_) AddMirrorFlows(plan, st, rank, group, mb);
    it->second = std::make_shared<const CollectivePlan>(std::move(plan));
    return it->second;
  }

  // dp_method ps: the roots' push and pull (ps_server.h); its plan holds every worker's flows, so no
  // mirror joins it. The groups of the nodes' other GPUs (the same span's other positions) have no
  // part in it: an empty plan (BytePS' root GPU alone talks to the servers).
  std::shared_ptr<const CollectivePlan> PsPlan(const Step& st, const std::vector<GpuId>& group) {
    PROTEUS_CHECK(ps_.has_value(), "a push and pull without servers");
    if (in_.cluster->LocalIndex(group.front()) != 0) return EmptyPlan();
    auto key = std::make_tuple(group, st.bytes, st.ps_first_piece);
    auto it = ps_plans_.find(key);
    if (it == ps_plans_.end())
      it = ps_plans_.emplace(key, std::make_shared<const CollectivePlan>(ps_->Plan(group, st.bytes, st.ps_first_piece))).first;
    return it->second;
  }

  // Symmetry simulates one group of each class; its mirror groups (the same collective of the
  // class's other ranks, at the same time by symmetry) load links too. Mirrors that share a node
  // with the simulated group can compete with it (a NIC or PCIe switch several GPUs use), so their
  // flows join the simulated comm: they need no member tasks and end when it ends.
  // With orbit mirrors every mirror group of the orbit adds every flow: a replica's own p2p or tp
  // traffic on its node then meets the simulated data-parallel ring's hop there, as in the full
  // simulation, and every node is loaded alike, so flow folding collapses the ring's hops.
  // Orbit mirrors plan every replica's tensor-parallel groups: a copy of the simulated group's
  // flows shifted to the mirror's node keeps that at one copy per mirror (MirrorLinks).
  void AddMirrorFlows(CollectivePlan& plan, const Step& st, int rank, const std::vector<GpuId>& group, int mb) {
    // Only mirror flows that cross a link the simulated group uses can change its timing: by
    // symmetry, contention elsewhere among mirrors is what the simulated group sees on its own links.
    mirror_links_.Mark(plan.flows);
    size_t own_flows = plan.flows.size();
    for (const auto& mirror : MirrorGroups(st, rank, group, mb)) {
      if (orbit_mirrors_ && mirror_links_.TranslateInsideNode(plan, own_flows, group, mirror)) continue;
      // A ring shift is planned transfer by transfer (ring_shift.h), not as one collective of the
      // model; otherwise a mirror that meets no link of the group would have every flow dropped.
      if (!orbit_mirrors_ && !IsRingShift(st) && !mirror_links_.MayShare(st.op, group, mirror)) continue;
      const CollectivePlan& m = PlanOf(st, mirror);
      for (const FlowSpec& f : m.flows)
        if (orbit_mirrors_ || mirror_links_.CrossesMarked(f)) plan.flows.push_back(f);
    }
  }

  const std::vector<std::vector<GpuId>>& MirrorGroups(const Step& st, int rank, const std::vector<GpuId>& group,
                                                     int mb) {
    bool p2p = st.kind == TaskKind::kP2P, cross_stage = !st.pp_peers.empty();
    // Keys: a mesh axis (>= 0), a p2p peer (< 0), a cross-stage group (the step's name, below both).
    int what = p2p ? -1 - PeerKey(st, mb) : cross_stage ? std::numeric_limits<int>::min() + st.name : st.axis;
    auto key = std::make_tuple(what, rank, SpanKey(st.span));
    auto it = mirrors_.find(key);
    if (it != mirrors_.end()) return it->second;
    std::vector<int> nodes;
    for (GpuId g : group) nodes.push_back(in_.cluster->gpu_node[g]);
    std::vector<std::vector<GpuId>> out;
    for (int r = 0; r < mesh_.NumRanks(); ++r) {
      if (r == rank || PpCoord(r) != PpCoord(rank)) continue;
      std::vector<GpuId> g2;
      if (p2p) g2 = {r, RankOnPp(r, RankOf(st.peer_stage, mb))};
      else if (cross_stage)
        for (int p : st.pp_peers) g2.push_back(RankOnPp(r, p));
      else if (mesh_.LeadsGroup(r, st.axis, st.span)) {
        g2 = mesh_.Group(r, st.axis, st.span);
        if (g2 == group) continue;
      } else {
        continue;
      }
      bool shares_node = false;
      for (GpuId g : g2)
        shares_node = shares_node || std::find(nodes.begin(), nodes.end(), in_.cluster->gpu_node[g]) != nodes.end();
      if (shares_node || orbit_mirrors_) out.push_back(std::move(g2));
    }
    return mirrors_.emplace(key, std::move(out)).first->second;
  }

  // A p2p step's peer as one key: its stage and the direction it is reached in (0 but under dualpipe).
  int PeerKey(const Step& st, int mb) const { return st.peer_stage * 2 + DirectionOf(s_.schedule, mb, m_); }

  // An axis span as one key: the whole axis 0, a block n, the groups across blocks of n -n.
  static int SpanKey(AxisSpan span) { return span.across ? -span.block : span.block; }

  static CostSource SourceOfPlan(const CollectivePlan& p) {
    return p.source.rfind("measured", 0) == 0 ? CostSource::kMeasuredCurve : CostSource::kTopologyModel;
  }

  static int64_t ChannelKey(int channel, int mb, int rank) {
    return (static_cast<int64_t>(channel) * (1 << 20) + mb) * (int64_t{1} << 24) + rank;
  }

  // One step for one simulated rank. `comm_of_leader` shares a Comm between the ranks of a group.
  TaskId EmitStep(const Step& st, int rank, int sim, int mb, const std::vector<TaskId>& ids,
                  LeaderComms& comm_of_leader, const std::vector<TaskId>& extra = {}) {
    if (st.kind == TaskKind::kP2P && RankOnPp(rank, RankOf(st.peer_stage, mb)) == rank) {
      // Two stages on one GPU (dualpipev turns around on rank p-1) hand the tensor over in memory:
      // the receiver waits for its producer.
      TaskId producer = ids[st.deps.front()];
      channel_tasks_[ChannelKey(st.send_channel, mb, rank)] = producer;
      return producer;
    }
    std::vector<TaskId>& deps = deps_scratch_;  // reused: one step after another, never nested
    deps.assign(extra.begin(), extra.end());
    for (int d : st.deps)
      if (ids[d] >= 0) deps.push_back(ids[d]);
    // Without p2p overlap the rank waits for its sends before computing on (Megatron's blocking
    // send_forward / send_backward in the non-interleaved schedules).
    if (!s_.OverlapP2P() && st.kind == TaskKind::kCompute) {
      auto pending = pending_send_.find(sim);
      if (pending != pending_send_.end()) {
        deps.push_back(pending->second);
        pending_send_.erase(pending);
      }
    }
    for (int c : st.channels) {
      int sender = RankOnPp(rank, RankOf(job_.channel_sender_stage[c], mb));
      auto it = channel_tasks_.find(ChannelKey(c, mb, sender));
      PROTEUS_CHECK(it != channel_tasks_.end(), "a receive before its send was instantiated");
      deps.push_back(it->second);
    }
    Task t;
    t.kind = st.kind;
    t.stream = st.stream;
    t.phase = st.phase;
    t.source = st.source;
    t.gpu = sim;
    t.name = st.name;
    t.compute_class = st.compute_class;
    t.microbatch = mb;
    t.duration_s = st.duration_s;
    t.cost_key = st.cost_key;
    t.cost_share = st.cost_share;
    t.flops = st.flops;
    t.recompute = st.recompute;
    if (st.kind == TaskKind::kCollective || st.kind == TaskKind::kP2P) {
      // The group's first member leads it (Group() lists members in coordinate order); the member
      // list itself is built only when the group's Comm is new.
      const int leader = st.kind == TaskKind::kP2P  ? -1 - rank
                         : !st.pp_peers.empty()     ? RankOnPp(rank, st.pp_peers.front())
                                                    : mesh_.GroupLeader(rank, st.axis, st.span);
      // A group across pipeline ranks has members in other ranks' tails: one Comm for all of them.
      CommId* comm = nullptr;
      if (st.pp_peers.empty()) {
        comm = comm_of_leader.Find(leader);
      } else {
        auto& comms = cross_stage_comms_[st.name];
        comm = &comms.try_emplace(leader, -1).first->second;
      }
      if (*comm < 0) {
        Comm c;
        c.op = st.op;
        c.stream = st.stream;
        c.plan = StepPlan(st, rank, leader, mb);
        c.bytes = st.bytes;
        c.communicator = st.span.block == 0 ? 0 : st.span.across ? 2 : 1;
        *comm = static_cast<CommId>(g_.comms.size());
        g_.comms.push_back(std::move(c));
      }
      t.comm = *comm;
      t.source = SourceOfPlan(*g_.comms[t.comm].plan);
    }
    if (st.host_op != HostOp::kNone) host_.Bind(st, rank, symmetry_, t, g_);  // host copies, CPU Adam (host_offload.h)
    TaskId id = g_.AddTask(t, deps, st.mem);
    if (t.comm >= 0) g_.comms[t.comm].members.push_back(id);
    if (st.send_channel >= 0) channel_tasks_[ChannelKey(st.send_channel, mb, rank)] = id;
    if (st.kind == TaskKind::kP2P) pending_send_[sim] = id;
    return id;
  }

  int StageOf(int p, const PipelineBlock& b) const {
    return StageOfChunk(s_.schedule, p, b.chunk, s_.PipelineRanks());
  }
  // The pipeline rank of `stage` for micro-batch mb (its direction picks the copy under dualpipe).
  int RankOf(int stage, int mb) const {
    return RankOfStage(s_.schedule, stage, s_.PipelineRanks(), DirectionOf(s_.schedule, mb, m_));
  }

  // Whether block b's inputs from other blocks have been emitted.
  bool Ready(int p, const PipelineBlock& b) const {
    int v = StageOf(p, b), mb = b.microbatch, last = s_.VirtualStages() - 1;
    switch (b.kind) {
      case BlockKind::kForward:
        return v == 0 || fwd_done_[v - 1][mb];
      case BlockKind::kBackward:
      case BlockKind::kInputGrad:
        return v == last ? fwd_done_[v][mb] != 0 : bwd_done_[v + 1][mb] != 0;
      case BlockKind::kWeightGrad:
        return bwd_done_[v][mb] != 0;
    }
    return false;
  }

  // Which steps of a list one block emits: all, or the B or W part of a split backward.
  enum class Part { kAll, kInputGrad, kWeightGrad };

  // Emits the steps of `list` in `part` for micro-batch mb on every simulated rank of pipeline rank
  // p. ids[r][k] holds step k's task on sim r (-1 while not emitted); `roots[r]`, when given, are
  // extra dependencies of the steps that depend on no other step of the list.
  void EmitList(const std::vector<Step>& list, const std::vector<char>* weight_part, Part part, int p, int mb,
                std::vector<std::vector<TaskId>>& ids, const std::vector<std::vector<TaskId>>& roots) {
    const auto& sims = sims_[p];
    if (ids.empty()) ids.assign(sims.size(), std::vector<TaskId>(list.size(), -1));
    // Once-per-iteration steps run at the first or last micro-batch the stage copy sees: of its
    // direction under dualpipe (each copy reduces its own gradients), else of the iteration.
    auto [first_mb, end_mb] = MicrobatchesOf(s_.schedule, DirectionOf(s_.schedule, mb, m_), m_);
    for (size_t k = 0; k < list.size(); ++k) {
      const Step& st = list[k];
      if (st.last_microbatch_only && mb != end_mb - 1) continue;
      if (st.first_microbatch_only && mb != first_mb) continue;
      if (part != Part::kAll && ((*weight_part)[k] != 0) != (part == Part::kWeightGrad)) continue;
      leader_comms_.Clear();
      for (size_t r = 0; r < sims.size(); ++r)
        ids[r][k] = EmitStep(st, sims[r].first, sims[r].second, mb, ids[r], leader_comms_,
                             st.deps.empty() && !roots.empty() ? roots[r] : std::vector<TaskId>{});
    }
  }

  void EmitBlock(int p, const PipelineBlock& b, const std::vector<std::vector<TaskId>>& roots) {
    int v = StageOf(p, b), mb = b.microbatch;
    const StageProgram& prog = job_.stages[v];
    std::vector<std::vector<TaskId>> ids;
    switch (b.kind) {
      case BlockKind::kForward:
        EmitList(prog.forward, nullptr, Part::kAll, p, mb, ids, roots);
        fwd_done_[v][mb] = 1;
        break;
      case BlockKind::kBackward:
        EmitList(prog.backward, nullptr, Part::kAll, p, mb, ids, roots);
        bwd_done_[v][mb] = 1;
        break;
      case BlockKind::kInputGrad:
        EmitList(prog.backward, &weight_part_[v], Part::kInputGrad, p, mb, ids, roots);
        bwd_done_[v][mb] = 1;
        pending_w_[{v, mb}] = std::move(ids);  // W's steps depend on these tasks
        break;
      case BlockKind::kWeightGrad: {
        auto it = pending_w_.find({v, mb});
        PROTEUS_CHECK(it != pending_w_.end(), "a W block before its B");
        EmitList(prog.backward, &weight_part_[v], Part::kWeightGrad, p, mb, it->second, roots);
        pending_w_.erase(it);
        break;
      }
    }
  }

  // An F&B pair (dualpipev): both start once both inputs have arrived, as DualPipe waits for all
  // its receives before the overlapped chunk, so the forward also waits for the gradients the
  // backward receives.
  void EmitPair(int p, const PipelineBlock& f, const PipelineBlock& b) {
    const std::vector<Step>& list = job_.stages[StageOf(p, b)].backward;
    std::vector<std::vector<TaskId>> roots(sims_[p].size());
    for (size_t r = 0; r < roots.size(); ++r)
      for (const Step& st : list)
        for (int c : st.channels) {
          int sender = RankOnPp(sims_[p][r].first, RankOf(job_.channel_sender_stage[c], b.microbatch));
          auto it = channel_tasks_.find(ChannelKey(c, b.microbatch, sender));
          PROTEUS_CHECK(it != channel_tasks_.end(), "an F&B pair before the backward's input was sent");
          roots[r].push_back(it->second);
        }
    EmitBlock(p, f, roots);
    EmitBlock(p, b, {});
  }

  void EmitTail(int p) {
    const auto& tail = job_.ranks[p].tail;
    const auto& sims = sims_[p];
    std::vector<std::vector<TaskId>> ids(sims.size(), std::vector<TaskId>(tail.size(), -1));
    for (size_t k = 0; k < tail.size(); ++k) {
      leader_comms_.Clear();
      for (size_t r = 0; r < sims.size(); ++r) {
        std::vector<TaskId> extra;
        if (tail[k].deps.empty()) {
          // The optimizer step (or the tied-gradient reductions before it) waits for the backward
          // and every gradient reduction issued on this GPU.
          const SimGpu& gpu = g_.gpus[sims[r].second];
          for (StreamKind s : {StreamKind::kCompute, StreamKind::kTpComm, StreamKind::kDpComm, StreamKind::kPpComm}) {
            const auto& q = gpu.streams[static_cast<int>(s)];
            if (!q.empty()) extra.push_back(q.back());
          }
        }
        ids[r][k] = EmitStep(tail[k], sims[r].first, sims[r].second, -1, ids[r], leader_comms_, extra);
      }
    }
  }

  const CompileInputs& in_;
  const Strategy& s_;
  const DeviceMesh& mesh_;
  const JobProgram& job_;
  ExecGraph& g_;
  int pp_axis_;
  HostOffload host_;
  std::optional<PsServers> ps_;  // dp_method ps on two or more worker nodes
  std::map<std::tuple<std::vector<GpuId>, int64_t, int64_t>, std::shared_ptr<const CollectivePlan>> ps_plans_;
  int m_ = 1;
  int64_t budget_;                      // the most tasks the graph may hold (CompileOptions::max_tasks)
  std::vector<size_t> fwd_comm_steps_, bwd_comm_steps_;  // per stage: collective and p2p steps
  std::vector<std::vector<std::pair<int, int>>> sims_;  // per pp rank: (global rank, sim index)
  std::map<std::tuple<int, std::vector<GpuId>, int64_t, int>, CollectivePlan> plans_;
  // (op, bytes, dtype, userbuffer pieces, mesh axis, peer stage, cross-stage peers, rank, axis span)
  using CommPlanKey = std::tuple<int, int64_t, int, int, int, int, std::vector<int>, int, int>;
  std::map<CommPlanKey, std::shared_ptr<const CollectivePlan>> comm_plans_;
  struct StepRank {
    const Step* step;
    int rank;
    bool operator==(const StepRank&) const = default;
  };
  struct StepRankHash {
    size_t operator()(const StepRank& k) const {
      return std::hash<const void*>()(k.step) ^ (static_cast<size_t>(k.rank) * 0x9e3779b97f4a7c15ULL);
    }
  };
  std::unordered_map<StepRank, std::shared_ptr<const CollectivePlan>, StepRankHash> step_plans_;
  // (axis or -1-peer, rank, axis span)
  std::map<std::tuple<int, int, int>, std::vector<std::vector<GpuId>>> mirrors_;
  MirrorLinks mirror_links_;  // what the cluster and the collective model say about mirror groups' links
  bool symmetry_ = true;
  bool orbit_mirrors_ = false;  // CompileOptions::orbit_mirrors
  std::unordered_map<int64_t, TaskId> channel_tasks_;
  std::vector<TaskId> deps_scratch_;  // EmitStep's dependency list, kept to reuse its storage
  std::unordered_map<int, TaskId> pending_send_;               // per simulated GPU: its last unawaited send
  std::map<int32_t, std::map<int, CommId>> cross_stage_comms_;  // per step name: leader -> comm
  LeaderComms leader_comms_;                                    // of the step being emitted
  std::vector<std::vector<char>> weight_part_;                 // per stage: backward step in W
  std::vector<std::vector<char>> fwd_done_, bwd_done_;         // [stage][mb]: F, B emitted
  std::map<std::pair<int, int>, std::vector<std::vector<TaskId>>> pending_w_;  // (stage, mb) -> B's task ids
};

}  // namespace

int64_t TaskBudget(int64_t max_tasks) {
  if (max_tasks < 0) throw UserError("--max-tasks", "must be a positive number of tasks, got " + std::to_string(max_tasks));
  return max_tasks > 0 ? max_tasks : kDefaultMaxTasks;
}

CompileResult Compile(const CompileInputs& in, const CompileOptions& options) {
  PROTEUS_CHECK(in.model && in.strategy && in.cluster && in.collectives && in.coster, "incomplete compile inputs");
  std::optional<ResolvedModel> own;
  if (!in.resolved) own = ValidateStrategy(*in.model, *in.strategy, *in.cluster);
  const ResolvedModel* resolved = in.resolved ? in.resolved : &*own;
  DeviceMesh mesh(in.strategy->mesh);
  CompileResult res;
  ProgramInputs program_in{in.model, in.strategy, resolved, &mesh, in.coster, {}};
  program_in.dp_ranks_per_node = PsRanksPerNode(*in.strategy, mesh.NumRanks(), *in.cluster);
  program_in.all_reduce_time = [&](int axis, int64_t bytes, DType dtype) {
    return in.collectives->Plan({CollOp::kAllReduce, mesh.Group(0, axis), bytes, dtype}).time_s;
  };
  JobProgram job = BuildJobProgram(program_in, res.graph);
  std::string mixed = options.symmetry ? SymmetryRefusal(*in.strategy, mesh, *in.cluster) : "";
  Instantiator(in, options, mesh, job, res.graph).Run(options.symmetry && mixed.empty(), options.orbit_mirrors);
  AddNcclBuffers(res.graph, in.strategy->memory.nccl_buffsize);

  CompileSummary& s = res.summary;
  s.samples = in.strategy->global_batch;
  s.tokens = s.samples * std::max<int64_t>(1, in.model->seq_len);
  s.model_flops = in.model->TrainingFlopsPerSample() * static_cast<double>(s.samples);
  s.microbatches = in.strategy->NumMicrobatches();
  s.simulated_gpus = static_cast<int>(res.graph.gpus.size());
  s.total_gpus = res.graph.total_gpus;
  for (const auto& t : res.graph.tasks) ++s.task_sources[static_cast<int>(t.source)];
  s.unmeasured = in.coster->Unmeasured();
  s.symmetry_note = std::move(mixed);
  return res;
}

}  // namespace proteus
