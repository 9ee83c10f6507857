#include "simulator/strategy/fp8_recipe.h"

#include <array>
#include <string>
#include <utility>

#include "common/error.h"

namespace proteus {
namespace {

constexpr std::array<std::pair<Fp8Format, std::string_view>, 3> kFormatNames = {{
    {Fp8Format::kNone, "none"}, {Fp8Format::kE4M3, "e4m3"}, {Fp8Format::kHybrid, "hybrid"}}};
constexpr std::array<std::pair<Fp8Scaling, std::string_view>, 2> kScalingNames = {{
    {Fp8Scaling::kDelayed, "delayed"}, {Fp8Scaling::kCurrent, "current"}}};

}  // namespace

std::string_view Fp8FormatName(Fp8Format f) {
  for (auto& [k, n] : kFormatNames)
    if (k == f) return n;
  return "?";
}
std::optional<Fp8Format> ParseFp8Format(std::string_view name) {
  for (auto& [k, n] : kFormatNames)
    if (n == name) return k;
  return std::nullopt;
}
std::string_view Fp8ScalingName(Fp8Scaling s) {
  for (auto& [k, n] : kScalingNames)
    if (k == s) return n;
  return "?";
}
std::optional<Fp8Scaling> ParseFp8Scaling(std::string_view name) {
  if (name == "tensorwise") return Fp8Scaling::kCurrent;  // Megatron-Core's --fp8-recipe name
  for (auto& [k, n] : kScalingNames)
    if (n == name) return k;
  return std::nullopt;
}

Fp8Recipe ParseFp8Precision(const JsonView& p) {
  Fp8Recipe r;
  if (p.Has("fp8")) {
    auto f = ParseFp8Format(p.Str("fp8"));
    if (!f) p.FailField("fp8", "expected none, e4m3 or hybrid, got \"" + p.Str("fp8") + "\"");
    r.format = *f;
  }
  if (p.Has("fp8_scaling")) {
    auto s = ParseFp8Scaling(p.Str("fp8_scaling"));
    if (!s) p.FailField("fp8_scaling", "expected delayed or current, got \"" + p.Str("fp8_scaling") + "\"");
    if (!r.enabled()) p.FailField("fp8_scaling", "given without fp8 (e4m3 or hybrid): it would do nothing");
    r.scaling = *s;
  }
  return r;
}

void Fp8RecipeToJson(const Fp8Recipe& r, Json& precision) {
  if (!r.enabled()) return;
  precision["fp8"] = std::string(Fp8FormatName(r.format));
  precision["fp8_scaling"] = std::string(Fp8ScalingName(r.scaling));
}

Fp8Recipe Fp8RecipeFromFlags(const std::string& fp8, const std::string& fp8_scaling) {
  Fp8Recipe r;
  if (!fp8.empty()) {
    auto f = ParseFp8Format(fp8);
    if (!f) throw UserError("--fp8", "expected none, e4m3 or hybrid; got '" + fp8 + "'");
    r.format = *f;
  }
  if (!fp8_scaling.empty()) {
    auto s = ParseFp8Scaling(fp8_scaling);
    if (!s) throw UserError("--fp8-scaling", "expected delayed or current; got '" + fp8_scaling + "'");
    if (!r.enabled()) throw UserError("--fp8-scaling", "given without --fp8 e4m3|hybrid: it would do nothing");
    r.scaling = *s;
  }
  return r;
}

}  // namespace proteus
