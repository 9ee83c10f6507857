#include "common/dtype.h"

#include <array>
#include <utility>

namespace proteus {
namespace {

constexpr std::array<std::pair<DType, std::string_view>, 8> kDTypeNames = {{
    {DType::kFp32, "fp32"}, {DType::kTf32, "tf32"}, {DType::kFp16, "fp16"}, {DType::kBf16, "bf16"},
    {DType::kFp8E4M3, "fp8_e4m3"}, {DType::kFp8E5M2, "fp8_e5m2"}, {DType::kInt32, "int32"},
    {DType::kInt64, "int64"},
}};

constexpr std::array<std::pair<Phase, std::string_view>, 4> kPhaseNames = {{
    {Phase::kFwd, "fwd"}, {Phase::kBwdData, "bwd_data"}, {Phase::kBwdWeight, "bwd_weight"},
    {Phase::kStep, "step"},
}};

}  // namespace

int64_t DTypeBytes(DType t) {
  switch (t) {
    case DType::kFp32: case DType::kTf32: case DType::kInt32: return 4;
    case DType::kFp16: case DType::kBf16: return 2;
    case DType::kFp8E4M3: case DType::kFp8E5M2: return 1;
    case DType::kInt64: return 8;
  }
  return 4;
}

std::string_view DTypeName(DType t) {
  for (auto& [d, n] : kDTypeNames) if (d == t) return n;
  return "?";
}

std::optional<DType> ParseDType(std::string_view name) {
  for (auto& [d, n] : kDTypeNames) if (n == name) return d;
  if (name == "float32" || name == "float") return DType::kFp32;
  if (name == "float16" || name == "half") return DType::kFp16;
  if (name == "bfloat16") return DType::kBf16;
  return std::nullopt;
}

std::string_view PhaseName(Phase p) {
  for (auto& [d, n] : kPhaseNames) if (d == p) return n;
  return "?";
}

std::optional<Phase> ParsePhase(std::string_view name) {
  for (auto& [d, n] : kPhaseNames) if (n == name) return d;
  return std::nullopt;
}

}  // namespace proteus
