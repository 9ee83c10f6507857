// Element types of tensors and of measured operators.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace proteus {

enum class DType { kFp32, kTf32, kFp16, kBf16, kFp8E4M3, kFp8E5M2, kInt32, kInt64 };

/// Bytes per element (tf32 is stored as fp32).
int64_t DTypeBytes(DType t);
/// "fp32", "tf32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int32", "int64".
std::string_view DTypeName(DType t);
std::optional<DType> ParseDType(std::string_view name);

/// Phase of an operator in a training step: forward, the two halves of backward, optimizer step.
enum class Phase { kFwd, kBwdData, kBwdWeight, kStep };
std::string_view PhaseName(Phase p);  // "fwd", "bwd_data", "bwd_weight", "step"
std::optional<Phase> ParsePhase(std::string_view name);

}  // namespace proteus
