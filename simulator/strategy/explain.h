// --explain: the strategy as people read it: the mesh and batch arithmetic, the rules, then the
// resolved module tree (what every operator ends up with). Identical consecutive blocks are folded
// ("layers.[1-11]: same as above") so a 96-layer model prints in a screen.
#pragma once

#include <string>

#include "simulator/model/module.h"
#include "simulator/strategy/strategy.h"

namespace proteus {

/// A readable, deterministic multi-line description of `strategy` applied to `model`.
std::string ExplainStrategy(const Model& model, const Strategy& strategy);

}  // namespace proteus
