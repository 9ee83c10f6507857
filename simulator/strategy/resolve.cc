#include "simulator/strategy/resolve.h"

#include "simulator/strategy/glob.h"

namespace proteus {

void EffectiveSettings::Apply(const NodeSettings& s, const std::string& path) {
  for (const auto& [dim, axis] : s.partition) {
    if (axis) partition[dim] = *axis;
    else partition.erase(dim);
  }
  if (s.weights) weights = *s.weights;
  if (s.grads) grads = *s.grads;
  if (s.optimizer) optimizer = *s.optimizer;
  if (s.recompute) {
    // The region is where recompute was switched to its current mode; re-stating the same mode
    // deeper in the tree (e.g. a "**" rule) does not shrink the region.
    if (*s.recompute != recompute || recompute_region.empty()) recompute_region = path;
    recompute = *s.recompute;
  }
  if (s.stage) stage = *s.stage;
  if (s.offload_optimizer) offload_optimizer = *s.offload_optimizer;
}

namespace {

struct Resolver {
  const Strategy& strategy;
  ResolvedModel& out;

  // `applied` collects the rules that reached the node (the defaults as index nodes.size()).
  EffectiveSettings ApplyRules(EffectiveSettings eff, const std::string& path, std::vector<size_t>& applied) {
    for (size_t i = 0; i < strategy.nodes.size(); ++i) {
      if (!MatchGlob(strategy.nodes[i].match, path)) continue;
      ++out.rule_matches[i];
      eff.Apply(strategy.nodes[i].settings, path);
      applied.push_back(i);
    }
    return eff;
  }

  const NodeSettings& RuleSettings(size_t i) const {
    return i == strategy.nodes.size() ? strategy.defaults : strategy.nodes[i].settings;
  }

  // A rule's partition dim is used when some operator it reaches iterates that dim.
  void NotePartitionDims(const Operator& op, const std::vector<size_t>& applied) {
    for (size_t i : applied)
      for (const auto& [dim, axis] : RuleSettings(i).partition)
        if (axis && op.FindDim(dim)) out.partition_dims_used[i].insert(dim);
  }

  void Visit(const Module& m, const std::string& path, const EffectiveSettings& inherited,
             std::vector<size_t> applied) {
    EffectiveSettings eff = ApplyRules(inherited, path, applied);
    for (const auto& op : m.ops) {
      std::string op_path = JoinPath(path, op.name);
      std::vector<size_t> op_applied = applied;
      out.ops.push_back({op_path, path, &op, ApplyRules(eff, op_path, op_applied)});
      NotePartitionDims(op, op_applied);
    }
    for (const auto& c : m.children) Visit(c, JoinPath(path, c.name), eff, applied);
  }
};

}  // namespace

ResolvedModel ResolveStrategy(const Model& model, const Strategy& strategy) {
  ResolvedModel out;
  out.rule_matches.assign(strategy.nodes.size(), 0);
  out.partition_dims_used.assign(strategy.nodes.size() + 1, {});
  EffectiveSettings root;
  root.Apply(strategy.defaults, "");
  Resolver{strategy, out}.Visit(model.root, "", root, {strategy.nodes.size()});
  return out;
}

}  // namespace proteus
