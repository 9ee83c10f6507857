// Resolution: every operator of a model with the strategy settings that apply to it.
//
// Model. Walk the module tree root first. A node starts from its parent's effective settings
// (the root from `defaults`), then applies every rule whose glob matches the node's own path, in
// file order; operators are leaves addressed as "<module path>.<op name>". Scalars are replaced,
// partitions merge per dim (a null removes a dim).
//
// Worked example: defaults {recompute none}; nodes [{match "layers.*", recompute full},
// {match "layers.[0-1]", stage 0}, {match "layers.[2-3]", stage 1}] gives layers.2.mlp.fc1
// recompute full (inherited from layers.2), stage 1; its recompute region is "layers.2" (the
// outermost node that turned recompute on), the unit whose input is kept and whose forward reruns.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

/// Settings in effect at a node, all inherited values applied.
struct EffectiveSettings {
  std::map<std::string, std::string> partition;  // op dim -> mesh axis
  std::string weights, grads, optimizer;          // shard axis, "" = replicated
  Recompute recompute = Recompute::kNone;
  int stage = -1;                                 // -1: not set anywhere
  bool offload_optimizer = false;
  std::string recompute_region;                   // path of the node where recompute became full/selective

  void Apply(const NodeSettings& s, const std::string& path);
};

struct ResolvedOp {
  std::string path;         // "layers.3.mlp.fc1"
  std::string module_path;  // "layers.3.mlp"
  const Operator* op = nullptr;
  EffectiveSettings settings;
};

struct ResolvedModel {
  std::vector<ResolvedOp> ops;       // every operator, in execution order
  std::vector<int> rule_matches;     // per strategy rule: nodes (modules + ops) it matched
  /// Per strategy rule, then the defaults (last): the partition dims some operator it reaches has.
  std::vector<std::set<std::string>> partition_dims_used;
};

/// Resolves `strategy` over `model`. Pure: no validation beyond glob syntax (see ValidateStrategy).
ResolvedModel ResolveStrategy(const Model& model, const Strategy& strategy);

}  // namespace proteus
