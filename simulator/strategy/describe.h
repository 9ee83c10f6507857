// The one-line description of a strategy that reports print, naming every setting that changes a
// run's time or memory, so two runs can be told apart from their reports alone:
//   "pp 8 x dp 16 x tp 8, mbs 1, gbs 1536, interleaved:2, sp, distributed optimizer (zero-1),
//    recompute selective, fp8 e4m3 (delayed scaling), overlap: grad-reduce param-gather tp-comm p2p"
#pragma once

#include <string>

#include "simulator/strategy/strategy.h"

namespace proteus {

std::string DescribeStrategy(const Strategy& s);

}  // namespace proteus
