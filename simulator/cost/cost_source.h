// Where a cost came from; every estimate carries one and the report counts them.
#pragma once

#include <cstdint>
#include <string_view>

namespace proteus {

enum class CostSource : uint8_t { kMeasured, kInterpolated, kRoofline, kTopologyModel, kMeasuredCurve, kFixed };
inline constexpr int kNumCostSources = 6;
std::string_view CostSourceName(CostSource s);  // "measured", "interpolated", "roofline", ...

}  // namespace proteus
