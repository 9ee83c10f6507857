#include "simulator/cost/cost_source.h"

namespace proteus {

std::string_view CostSourceName(CostSource s) {
  switch (s) {
    case CostSource::kMeasured: return "measured";
    case CostSource::kInterpolated: return "interpolated";
    case CostSource::kCalibrated: return "calibrated";
    case CostSource::kRoofline: return "roofline";
    case CostSource::kTopologyModel: return "topology-model";
    case CostSource::kMeasuredCurve: return "measured-curve";
    case CostSource::kFixed: return "fixed";
  }
  return "?";
}

}  // namespace proteus
