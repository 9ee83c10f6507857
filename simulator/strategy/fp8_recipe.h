// fp8 training as NVIDIA Transformer Engine runs it (Megatron-Core --fp8-format, --fp8-recipe):
// the strategy's choice, parsed from the strategy file's "precision" object or the --fp8 flags.
//
// Model. Activations, weights and gradients stay in the model's dtype (bf16); only the GEMMs of the
// transformer blocks' Linear layers run on fp8 tensor cores. Their operands are cast to fp8 just
// before each GEMM and the GEMM writes bf16:
//   e4m3    every fp8 operand is e4m3 (Megatron --fp8-format e4m3);
//   hybrid  forward operands e4m3, the gradient operand dY of the backward GEMMs e5m2 (more range,
//           less precision: --fp8-format hybrid, TE's Format.HYBRID).
// Scaling (the per-tensor scale that maps a tensor's amax onto the fp8 range):
//   delayed  the scale comes from an amax history of earlier steps; the cast kernels record the new
//            amax on the fly (TE DelayedScaling, Megatron --fp8-recipe delayed);
//   current  the scale comes from this tensor's own amax, so each cast is preceded by a read pass
//            computing it (TE Float8CurrentScaling, Megatron --fp8-recipe tensorwise).
// How compile/ prices it is compile/fp8_gemm.h.
//
// Example: {"precision": {"fp8": "hybrid", "fp8_scaling": "current"}} or --fp8 hybrid
// --fp8-scaling current: forward GEMMs e4m3, backward GEMMs e5m2 x e4m3, amax passes before casts.
#pragma once

#include <optional>
#include <string_view>

#include "common/json_file.h"

namespace proteus {

enum class Fp8Format { kNone, kE4M3, kHybrid };
std::string_view Fp8FormatName(Fp8Format f);  // "none", "e4m3", "hybrid"
std::optional<Fp8Format> ParseFp8Format(std::string_view name);

enum class Fp8Scaling { kDelayed, kCurrent };
std::string_view Fp8ScalingName(Fp8Scaling s);  // "delayed", "current"
/// "delayed" or "current"; Megatron's "tensorwise" is accepted for current.
std::optional<Fp8Scaling> ParseFp8Scaling(std::string_view name);

struct Fp8Recipe {
  Fp8Format format = Fp8Format::kNone;
  Fp8Scaling scaling = Fp8Scaling::kDelayed;
  bool enabled() const { return format != Fp8Format::kNone; }
  bool operator==(const Fp8Recipe&) const = default;
};

/// Reads the fp8 keys of the strategy file's "precision" object: "fp8" (none | e4m3 | hybrid,
/// default none) and "fp8_scaling" (delayed | current, default delayed). UserError naming the field
/// for an unknown value, or for fp8_scaling given without fp8.
Fp8Recipe ParseFp8Precision(const JsonView& precision);
/// The same keys as JSON members (only the non-default ones), for StrategyToJson.
void Fp8RecipeToJson(const Fp8Recipe& r, Json& precision);

/// The --fp8 / --fp8-scaling flags ("" = not given). UserError naming the flag.
Fp8Recipe Fp8RecipeFromFlags(const std::string& fp8, const std::string& fp8_scaling);

}  // namespace proteus
