// The cluster overload lives apart so the strategy checks build without the topology code.
#include "simulator/strategy/validate.h"
#include "topo/cluster.h"

namespace proteus {

ResolvedModel ValidateStrategy(const Model& model, const Strategy& strategy, const Cluster& cluster) {
  return ValidateStrategy(model, strategy, cluster.NumGpus());
}

}  // namespace proteus
