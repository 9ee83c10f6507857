#include "profiler/canonical.h"

#include <algorithm>

#include "common/error.h"
#include "profiler/op_semantics.h"

namespace proteus::profiler {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void FillAttrs(OpKey& k, const std::string& where) {
  auto specs = AttrsOf(k.kind);
  for (const auto& [name, value] : k.attrs) {
    auto it = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.name == name; });
    if (it == specs.end())
      throw UserError(where, "op kind " + k.kind + " has no attribute \"" + name + "\"");
    if (std::find(it->values.begin(), it->values.end(), value) == it->values.end())
      throw UserError(where, "attribute " + name + "=\"" + value + "\" of " + k.kind +
                                 " must be one of: " + Join(it->values));
  }
  for (const auto& s : specs)
    if (!k.attrs.count(s.name)) k.attrs[s.name] = s.values.front();
}

int64_t At(const OpKey& k, const char* p) { return k.shape.at(p); }

// Shape rules the kind table cannot state: positive sizes, GQA grouping, even rope dims.
void CheckShape(const OpKey& k, const std::string& where) {
  auto fail = [&](const std::string& what) { throw UserError(where, k.kind + ": " + what); };
  for (const auto& [p, v] : k.shape) {
    bool may_be_zero = p == "pad";
    if (v < (may_be_zero ? 0 : 1)) fail("shape parameter " + p + " must be positive, got " + std::to_string(v));
  }
  if (k.kind == "attention" && At(k, "heads") % At(k, "kv_heads") != 0)
    fail("heads (" + std::to_string(At(k, "heads")) + ") must be a multiple of kv_heads (" +
         std::to_string(At(k, "kv_heads")) + ")");
  if (k.kind == "rope" && At(k, "head_dim") % 2 != 0) fail("head_dim must be even");
  if (k.kind == "conv2d" && (At(k, "h") + 2 * At(k, "pad") < At(k, "r") ||
                             At(k, "w") + 2 * At(k, "pad") < At(k, "s")))
    fail("the filter (r, s) is larger than the padded input (h, w)");
  if (k.kind == "pool" && (At(k, "window") > At(k, "h") || At(k, "window") > At(k, "w")))
    fail("window is larger than the input (h, w)");
}

}  // namespace

OpKey Canonicalize(const OpKey& key, const std::string& where) {
  if (auto err = ValidateOpKey(key)) throw UserError(where, *err);
  OpKey k = key;
  auto phases = PhasesOf(k.kind);
  if (std::find(phases.begin(), phases.end(), k.phase) == phases.end()) {
    std::vector<std::string> names;
    for (auto p : phases) names.emplace_back(PhaseName(p));
    throw UserError(where, k.kind + " has no phase " + std::string(PhaseName(k.phase)) +
                               " (it has: " + Join(names) + ")");
  }
  auto dtypes = DTypesOf(k.kind);
  if (std::find(dtypes.begin(), dtypes.end(), k.dtype) == dtypes.end()) {
    std::vector<std::string> names;
    for (auto t : dtypes) names.emplace_back(DTypeName(t));
    throw UserError(where, k.kind + " cannot be measured in " + std::string(DTypeName(k.dtype)) +
                               " (it can in: " + Join(names) + ")");
  }
  FillAttrs(k, where);
  CheckShape(k, where);
  return k;
}

std::optional<std::string> UnsupportedReason(const OpKey& key) {
  if (ValidateOpKey(key)) return std::nullopt;  // malformed: Canonicalize reports it
  auto phases = PhasesOf(key.kind);
  if (std::find(phases.begin(), phases.end(), key.phase) == phases.end())
    return key.kind + " has no " + std::string(PhaseName(key.phase)) + " kernel in this profiler";
  auto dtypes = DTypesOf(key.kind);
  if (std::find(dtypes.begin(), dtypes.end(), key.dtype) == dtypes.end())
    return key.kind + " cannot be measured in " + std::string(DTypeName(key.dtype));
  auto specs = AttrsOf(key.kind);
  for (const auto& [name, value] : key.attrs) {
    auto it = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.name == name; });
    if (it == specs.end() || std::find(it->values.begin(), it->values.end(), value) == it->values.end())
      return key.kind + " has no kernel for " + name + "=" + value;
  }
  return std::nullopt;
}

OpKey MakeKey(const std::string& kind, DType dtype, Phase phase, std::map<std::string, int64_t> shape,
              std::map<std::string, std::string> attrs) {
  OpKey k{kind, dtype, phase, std::move(shape), std::move(attrs)};
  try {
    return Canonicalize(k, "sweep");
  } catch (const UserError& e) {
    throw InternalError(std::string("the sweep built a bad key ") + k.ToString() + ": " + e.what());
  }
}

}  // namespace proteus::profiler
