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

  EffectiveSettings ApplyRules(EffectiveSettings eff, const std::string& path) {
    for (size_t i = 0; i < strategy.nodes.size(); ++i) {
      if (!MatchGlob(strategy.nodes[i].match, path)) continue;
      ++out.rule_matches[i];
      eff.Apply(strategy.nodes[i].settings, path);
    }
    return eff;
  }

  void Visit(const Module& m, const std::string& path, const EffectiveSettings& inherited) {
    EffectiveSettings eff = ApplyRules(inherited, path);
    for (const auto& op : m.ops) {
      std::string op_path = JoinPath(path, op.name);
      out.ops.push_back({op_path, path, &op, ApplyRules(eff, op_path)});
    }
    for (const auto& c : m.children) Visit(c, JoinPath(path, c.name), eff);
  }
};

}  // namespace

ResolvedModel ResolveStrategy(const Model& model, const Strategy& strategy) {
  ResolvedModel out;
  out.rule_matches.assign(strategy.nodes.size(), 0);
  EffectiveSettings root;
  root.Apply(strategy.defaults, "");
  Resolver{strategy, out}.Visit(model.root, "", root);
  return out;
}

}  // namespace proteus
