#include "common/op_key.h"

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

}  // namespace proteus
