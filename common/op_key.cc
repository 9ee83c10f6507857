#include "common/op_key.h"

#include <charconv>

namespace proteus {

const std::vector<OpKindSpec>& OpKindSpecs() {
  static const std::vector<OpKindSpec> kSpecs = {
      {"gemm", {"m", "n", "k"}, "C[m,n] = A[m,k] * B[k,n] (cuBLASLt)"},
      {"bgemm", {"batch", "m", "n", "k"}, "batch independent gemms"},
      {"attention", {"batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim"},
       "fused scaled-dot-product attention (attrs: causal=0|1)"},
      {"layernorm", {"rows", "cols"}, "layer normalization over cols"},
      {"rmsnorm", {"rows", "cols"}, "RMS normalization over cols"},
      {"softmax", {"rows", "cols"}, "softmax over cols"},
      {"gelu", {"elements"}, "GELU activation"},
      {"swiglu", {"rows", "cols"}, "silu(gate) * up; cols is the output width"},
      {"dropout", {"elements"}, "dropout with mask"},
      {"add", {"elements"}, "elementwise add (residual)"},
      {"rope", {"tokens", "heads", "head_dim"}, "rotary position embedding"},
      {"embedding", {"tokens", "vocab", "hidden"}, "embedding lookup (bwd: scatter-add)"},
      {"cross_entropy", {"tokens", "vocab"}, "softmax cross-entropy over the vocabulary"},
      {"adam", {"params"}, "fused Adam step over a parameter group (fp32 states)"},
      {"conv2d", {"n", "c", "h", "w", "k", "r", "s", "stride", "pad"}, "2-D convolution, NCHW"},
      {"batchnorm", {"n", "c", "h", "w"}, "batch normalization"},
      {"pool", {"n", "c", "h", "w", "window", "stride"}, "max/avg pooling (attrs: mode)"},
      {"copy", {"bytes"}, "memory copy (attrs: dir=h2d|d2h|d2d|peer)"},
  };
  return kSpecs;
}

const OpKindSpec* FindOpKind(std::string_view kind) {
  for (const auto& s : OpKindSpecs())
    if (s.kind == kind) return &s;
  return nullptr;
}

namespace {
std::string Head(const OpKey& k) {
  return k.kind + "|" + std::string(DTypeName(k.dtype)) + "|" + std::string(PhaseName(k.phase)) + "|";
}
std::string Attrs(const OpKey& k) {
  std::string s;
  for (const auto& [a, v] : k.attrs) s += (s.empty() ? "" : ",") + a + "=" + v;
  return s;
}
}  // namespace

std::string OpKey::ToString() const {
  std::string s;
  for (const auto& [p, v] : shape) s += (s.empty() ? "" : ",") + p + "=" + std::to_string(v);
  return Head(*this) + s + "|" + Attrs(*this);
}

std::string OpKey::FamilyString() const { return Head(*this) + "|" + Attrs(*this); }

std::optional<std::string> ValidateOpKey(const OpKey& key) {
  const OpKindSpec* spec = FindOpKind(key.kind);
  if (!spec) return "unknown op kind \"" + key.kind + "\"";
  for (auto p : spec->shape_params) {
    auto it = key.shape.find(std::string(p));
    if (it == key.shape.end()) return "op kind " + key.kind + " needs shape parameter \"" + std::string(p) + "\"";
    if (it->second < 0) return "shape parameter " + std::string(p) + " is negative";
  }
  for (const auto& [p, v] : key.shape) {
    bool known = false;
    for (auto q : spec->shape_params) known = known || q == p;
    if (!known) return "op kind " + key.kind + " has no shape parameter \"" + p + "\"";
  }
  return std::nullopt;
}

namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// "a=1,b=2" -> {a: "1", b: "2"}; "" -> {}. False on an empty name, a missing '=' or a repeated name.
bool ParsePairs(std::string_view text, std::map<std::string, std::string>& out, std::string& why) {
  if (text.empty()) return true;
  for (std::string_view item : Split(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      why = "expected name=value, got \"" + std::string(item) + "\"";
      return false;
    }
    if (!out.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))).second) {
      why = "\"" + std::string(item.substr(0, eq)) + "\" appears twice";
      return false;
    }
  }
  return true;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<OpKey> ParseOpKeyParts(std::string_view text, std::string& why) {
  std::vector<std::string_view> parts = Split(text, '|');
  if (parts.size() != 5) {
    why = "expected kind|dtype|phase|shape|attrs (5 parts separated by '|'), got " + std::to_string(parts.size());
    return std::nullopt;
  }
  OpKey key;
  key.kind = std::string(parts[0]);
  auto dtype = ParseDType(parts[1]);
  // ParseDType also reads HF spellings ("bfloat16"); a key is canonical text, so only the names.
  if (!dtype || DTypeName(*dtype) != parts[1]) {
    why = "unknown dtype \"" + std::string(parts[1]) + "\"";
    return std::nullopt;
  }
  key.dtype = *dtype;
  auto phase = ParsePhase(parts[2]);
  if (!phase) {
    why = "unknown phase \"" + std::string(parts[2]) + "\" (expected fwd, bwd_data, bwd_weight or step)";
    return std::nullopt;
  }
  key.phase = *phase;
  std::map<std::string, std::string> shape;
  if (!ParsePairs(parts[3], shape, why) || !ParsePairs(parts[4], key.attrs, why)) return std::nullopt;
  for (const auto& [name, value] : shape) {
    auto v = ParseInt64(value);
    if (!v) {
      why = "shape parameter " + name + " is not an integer: \"" + value + "\"";
      return std::nullopt;
    }
    key.shape[name] = *v;
  }
  return key;
}

}  // namespace

std::optional<OpKey> ParseOpKey(std::string_view text, std::string* why) {
  std::string reason;
  std::optional<OpKey> key = ParseOpKeyParts(text, reason);
  if (key) {
    if (auto invalid = ValidateOpKey(*key)) {
      reason = *invalid;
      key.reset();
    }
  }
  if (!key && why) *why = reason;
  return key;
}

}  // namespace proteus
