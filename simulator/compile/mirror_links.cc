#include "simulator/compile/mirror_links.h"

namespace proteus {

bool MirrorLinks::MayShare(CollOp op, const std::vector<GpuId>& group, const std::vector<GpuId>& mirror) {
  auto key = std::make_tuple(static_cast<int>(op), group, mirror);
  auto it = may_share_.find(key);
  if (it != may_share_.end()) return it->second;
  auto own_key = std::make_pair(static_cast<int>(op), group);
  auto own = footprints_.find(own_key);
  if (own == footprints_.end()) own = footprints_.emplace(own_key, collectives_.Footprint(op, group)).first;
  bool share = true;
  if (own->second) {
    auto theirs = collectives_.Footprint(op, mirror);
    if (theirs) {
      const std::vector<LinkId>& a = *own->second;
      const std::vector<LinkId>& b = *theirs;
      share = false;
      for (size_t i = 0, j = 0; i < a.size() && j < b.size() && !share;) {
        if (a[i] == b[j]) share = true;
        else if (a[i] < b[j]) ++i;
        else ++j;
      }
    }
  }
  return may_share_.emplace(std::move(key), share).first->second;
}

void MirrorLinks::Mark(const std::vector<FlowSpec>& flows) {
  if (link_mark_.empty()) link_mark_.assign(cluster_.graph.NumLinks(), 0);
  ++mark_epoch_;  // marks of earlier calls are stale without clearing
  for (const FlowSpec& f : flows)
    for (LinkId l : f.links) link_mark_[l] = mark_epoch_;
}

bool MirrorLinks::CrossesMarked(const FlowSpec& flow) const {
  for (LinkId l : flow.links)
    if (link_mark_[l] == mark_epoch_) return true;
  return false;
}

bool MirrorLinks::TranslateInsideNode(CollectivePlan& plan, size_t own_flows, const std::vector<GpuId>& group,
                                      const std::vector<GpuId>& mirror) const {
  const Cluster& c = cluster_;
  if (group.size() != mirror.size()) return false;
  int from = c.gpu_node[group.front()], to = c.gpu_node[mirror.front()];
  if (from == to || c.node_group[from] != c.node_group[to]) return false;
  for (size_t i = 0; i < group.size(); ++i)
    if (c.gpu_node[group[i]] != from || c.gpu_node[mirror[i]] != to || c.LocalIndex(group[i]) != c.LocalIndex(mirror[i]))
      return false;
  LinkId first = c.node_link_base[from], end = first + static_cast<LinkId>(c.TopologyOf(from).graph.links.size());
  for (size_t f = 0; f < own_flows; ++f)
    for (LinkId l : plan.flows[f].links)
      if (l < first || l >= end) return false;
  LinkId shift = c.node_link_base[to] - first;
  for (size_t f = 0; f < own_flows; ++f) {
    FlowSpec copy = plan.flows[f];
    for (LinkId& l : copy.links) l += shift;
    plan.flows.push_back(std::move(copy));
  }
  return true;
}

}  // namespace proteus
