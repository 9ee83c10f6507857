// When symmetry (one simulated GPU standing for each class of identical ones) would give a wrong
// answer for a job, so that every GPU is simulated instead: a pipeline rank whose GPUs mix types,
// or, under dualpipe, one that spans several nodes. The compiler reports the reason as the
// summary's symmetry note.
#pragma once

#include <string>

#include "simulator/compile/mesh.h"
#include "simulator/strategy/strategy.h"
#include "topo/cluster.h"

namespace proteus {

/// The reason symmetry must not be used for this job ("pipeline rank 1 mixes GPU types (...): every
/// GPU simulated ..."), or "" when it may.
std::string SymmetryRefusal(const Strategy& s, const DeviceMesh& mesh, const Cluster& cluster);

}  // namespace proteus
