#include "simulator/strategy/dp_method.h"

#include <array>
#include <cmath>
#include <utility>

#include "common/error.h"

namespace proteus {

namespace {

constexpr std::array<std::pair<DpMethod, std::string_view>, 6> kDpMethodNames = {{
    {DpMethod::kBuckets, "buckets"},
    {DpMethod::kBsp, "bsp"},
    {DpMethod::kWfbp, "wfbp"},
    {DpMethod::kFusion, "fusion"},
    {DpMethod::kMgWfbp, "mgwfbp"},
    {DpMethod::kPs, "ps"},
}};

}  // namespace

std::string_view DpMethodName(DpMethod m) {
  for (const auto& [method, name] : kDpMethodNames)
    if (method == m) return name;
  return "?";
}

std::optional<DpMethod> ParseDpMethod(std::string_view name) {
  for (const auto& [method, n] : kDpMethodNames)
    if (n == name) return method;
  return std::nullopt;
}

std::string DpMethodList() {
  std::string list;
  for (const auto& [method, name] : kDpMethodNames) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

void CheckDpReduction(const DpReduction& r, const std::string& where_threshold, const std::string& where_cycle) {
  if (r.fusion_threshold_bytes < 0 || r.fusion_threshold_bytes > kMaxFusionThresholdBytes)
    throw UserError(where_threshold, "fusion threshold must be between 0 and 1 TiB, got " +
                                         std::to_string(r.fusion_threshold_bytes) + " bytes");
  if (!std::isfinite(r.fusion_cycle_s) || r.fusion_cycle_s < 0 || r.fusion_cycle_s > kMaxFusionCycleS)
    throw UserError(where_cycle, "fusion cycle time must be between 0 and 10000 ms, got " +
                                     std::to_string(r.fusion_cycle_s * 1000) + " ms");
}

}  // namespace proteus
