// Under symmetry the compiler simulates one group of each class; its mirror groups (the same
// collective of the class's other ranks) load links too. This holds what the cluster and the
// collective model say about a mirror's links, apart from which mirrors a step has (compile.cc):
// whether a mirror can meet the simulated group on any link at all, which of its flows cross the
// simulated plan's links, and a mirror inside one node as the simulated plan shifted to its node.
#pragma once

#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

class MirrorLinks {
 public:
  /// Both must outlive this object.
  MirrorLinks(const Cluster& cluster, const CollectiveModel& collectives) : cluster_(cluster), collectives_(collectives) {}

  /// Whether any plan of `op` on `mirror` could route a flow over a link some plan of it on `group`
  /// uses, at any size: false rules the mirror out of every size's comm without planning it (the
  /// routes of a data-parallel ring of another tensor-parallel rank often run on other NICs).
  /// Decided once per pair from the model's footprints; true where the model cannot tell.
  bool MayShare(CollOp op, const std::vector<GpuId>& group, const std::vector<GpuId>& mirror);

  /// Marks the links of `flows` (the simulated plan's own); `CrossesMarked` then tells a mirror flow
  /// that crosses one of them. Each call forgets the previous marks.
  void Mark(const std::vector<FlowSpec>& flows);
  bool CrossesMarked(const FlowSpec& flow) const;

  /// A mirror group inside one node, at the same local GPUs of a node of the same kind as the
  /// simulated group's own node, runs the same plan on that node's copy of the links: appends the
  /// first `own_flows` flows of `plan` shifted by the two nodes' first link ids (topo/cluster.h
  /// node_link_base), which is what planning it afresh gives, without the channel search. False
  /// (and nothing appended) where the mirror is not such a copy.
  bool TranslateInsideNode(CollectivePlan& plan, size_t own_flows, const std::vector<GpuId>& group,
                           const std::vector<GpuId>& mirror) const;

 private:
  const Cluster& cluster_;
  const CollectiveModel& collectives_;
  std::map<std::pair<int, std::vector<GpuId>>, std::optional<std::vector<LinkId>>> footprints_;  // of simulated groups
  std::map<std::tuple<int, std::vector<GpuId>, std::vector<GpuId>>, bool> may_share_;  // per pair
  std::vector<uint32_t> link_mark_;  // per cluster link: == mark_epoch_ when the marked flows use it
  uint32_t mark_epoch_ = 0;
};

}  // namespace proteus
