// Where a cost came from; every estimate carries one and the report counts them.
#pragma once

#include <cstdint>
#include <string_view>

namespace proteus {

// kCalibrated: the roofline with parameters fitted to measured runs (a cost-database calibration);
// kRoofline: the roofline with the uncalibrated datasheet/default parameters.
enum class CostSource : uint8_t { kMeasured, kInterpolated, kCalibrated, kRoofline, kTopologyModel, kMeasuredCurve, kFixed };
inline constexpr int kNumCostSources = 7;
std::string_view CostSourceName(CostSource s);  // "measured", "interpolated", "roofline", ...

}  // namespace proteus
