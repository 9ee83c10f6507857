#include "simulator/model/module_json.h"

#include <set>

#include "common/error.h"

namespace proteus {
namespace {

// Bounds that keep every per-sample count exact: dims of one op span at most 2^53 elements (exact
// in double, with 2^10 of int64 headroom for micro-batch sizes); a fused kernel does at most 10^6
// FLOPs per point; a saved element is at most 1 KiB.
constexpr double kMaxPoints = 9007199254740992.0;  // 2^53
constexpr double kMaxFlopsPerPoint = 1e6;
constexpr int64_t kMaxBytesPerElement = 1024;

Json DimToJson(const Dim& d) {
  Json j = {{"name", d.name}, {"kind", DimKindName(d.kind)}, {"size", d.size}};
  if (d.extent_only) j["extent_only"] = true;
  return j;
}

Json OpToJson(const Operator& op) {
  Json j = {{"name", op.name}, {"kind", OpKindName(op.kind)}, {"dtype", DTypeName(op.dtype)},
            {"flops_per_point", op.flops_per_point}};
  if (op.phase != Phase::kFwd) j["phase"] = PhaseName(op.phase);
  if (op.hw_flops_per_point >= 0) j["hw_flops_per_point"] = op.hw_flops_per_point;
  j["dims"] = Json::array();
  for (const auto& d : op.dims) j["dims"].push_back(DimToJson(d));
  j["tensors"] = Json::array();
  for (const auto& t : op.tensors) {
    Json tj = {{"name", t.name}, {"role", TensorRoleName(t.role)}, {"axes", t.axes}, {"dtype", DTypeName(t.dtype)}};
    if (!t.needs_grad) tj["needs_grad"] = false;
    j["tensors"].push_back(tj);
  }
  if (!op.attrs.empty()) j["attrs"] = op.attrs;
  if (!op.saved.empty()) {
    j["saved"] = Json::array();
    for (const auto& s : op.saved)
      j["saved"].push_back({{"name", s.name}, {"axes", s.axes}, {"bytes_per_element", s.bytes_per_element}});
  }
  return j;
}

Json ModuleToJson(const Module& m) {
  Json j = {{"name", m.name}, {"type", m.type}};
  if (!m.ops.empty()) {
    j["ops"] = Json::array();
    for (const auto& op : m.ops) j["ops"].push_back(OpToJson(op));
  }
  if (!m.children.empty()) {
    j["children"] = Json::array();
    for (const auto& c : m.children) j["children"].push_back(ModuleToJson(c));
  }
  return j;
}

DType ParseDTypeField(const JsonView& v, std::string_view key, DType fallback) {
  if (!v.Has(key)) return fallback;
  auto d = ParseDType(v.Str(key));
  if (!d) v.FailField(key, "unknown dtype '" + v.Str(key) + "'; expected fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, int32 or int64");
  return *d;
}

std::vector<std::string> Axes(const JsonView& v, const Operator& op) {
  std::vector<std::string> axes;
  JsonView a = v.At("axes");
  for (size_t i = 0; i < a.Size(); ++i) {
    std::string name = a.At(i).AsStr();
    if (!op.FindDim(name)) a.At(i).Fail("names no dim of op '" + op.name + "'");
    axes.push_back(name);
  }
  return axes;
}

Dim DimFromJson(const JsonView& v) {
  v.RejectUnknownKeys({"name", "kind", "size", "extent_only"});
  Dim d;
  d.name = v.Str("name");
  auto kind = ParseDimKind(v.Str("kind"));
  if (!kind) v.FailField("kind", "expected batch, spatial, reduce or opaque");
  d.kind = *kind;
  d.size = v.PositiveInt("size");
  d.extent_only = v.BoolOr("extent_only", false);
  return d;
}

TensorUse TensorFromJson(const JsonView& v, const Operator& op) {
  v.RejectUnknownKeys({"name", "role", "axes", "dtype", "needs_grad"});
  TensorUse t;
  t.name = v.Str("name");
  if (t.name.empty()) v.FailField("name", "must not be empty");
  auto role = ParseTensorRole(v.Str("role"));
  if (!role) v.FailField("role", "expected input, weight or output");
  t.role = *role;
  t.axes = Axes(v, op);
  t.dtype = ParseDTypeField(v, "dtype", op.dtype);
  t.needs_grad = v.BoolOr("needs_grad", true);
  return t;
}

Operator OpFromJson(const JsonView& v, DType model_dtype) {
  v.RejectUnknownKeys({"name", "kind", "dtype", "phase", "flops_per_point", "hw_flops_per_point", "dims",
                       "tensors", "attrs", "saved"});
  Operator op;
  op.name = v.Str("name");
  if (op.name.empty() || op.name.find('.') != std::string::npos)
    v.FailField("name", "must be a non-empty name without dots");
  auto kind = ParseOpKind(v.Str("kind"));
  if (!kind) v.FailField("kind", "unknown op kind '" + v.Str("kind") + "'");
  op.kind = *kind;
  op.dtype = ParseDTypeField(v, "dtype", model_dtype);
  if (v.Has("phase")) {
    auto p = ParsePhase(v.Str("phase"));
    if (!p) v.FailField("phase", "expected fwd, bwd_data, bwd_weight or step");
    // The backward and optimizer operators are derived from the forward ones (backward.h).
    if (*p != Phase::kFwd) v.FailField("phase", "a model lists forward operators only (\"fwd\"); backward is derived");
    op.phase = *p;
  }
  op.flops_per_point = v.NumOr("flops_per_point", 0.0);
  if (op.flops_per_point < 0 || op.flops_per_point > kMaxFlopsPerPoint)
    v.FailField("flops_per_point", "must be within [0, " + std::to_string(kMaxFlopsPerPoint) + "]");
  op.hw_flops_per_point = v.NumOr("hw_flops_per_point", -1.0);
  if (op.hw_flops_per_point > kMaxFlopsPerPoint)
    v.FailField("hw_flops_per_point", "must be at most " + std::to_string(kMaxFlopsPerPoint) + " (negative: unset)");
  JsonView dims = v.At("dims");
  std::set<std::string> dim_names;
  double points = 1;
  for (size_t i = 0; i < dims.Size(); ++i) {
    op.dims.push_back(DimFromJson(dims.At(i)));
    if (!dim_names.insert(op.dims.back().name).second) dims.At(i).FailField("name", "duplicate dim name");
    points *= static_cast<double>(op.dims.back().size);
    if (points > kMaxPoints)
      dims.At(i).FailField("size", "the op's dims span more than 2^53 elements per sample; too large to simulate exactly");
  }
  JsonView tensors = v.At("tensors");
  for (size_t i = 0; i < tensors.Size(); ++i) op.tensors.push_back(TensorFromJson(tensors.At(i), op));
  if (auto attrs = v.Find("attrs")) {
    if (!attrs->IsObject()) attrs->Fail("expected an object of strings");
    for (const auto& [k, val] : attrs->raw().items()) op.attrs[k] = attrs->Str(k);
  }
  if (auto saved = v.Find("saved")) {
    for (size_t i = 0; i < saved->Size(); ++i) {
      JsonView s = saved->At(i);
      s.RejectUnknownKeys({"name", "axes", "bytes_per_element"});
      int64_t bytes = s.PositiveInt("bytes_per_element");
      if (bytes > kMaxBytesPerElement)
        s.FailField("bytes_per_element", "must be at most " + std::to_string(kMaxBytesPerElement));
      op.saved.push_back(SavedTensor{s.Str("name"), Axes(s, op), bytes});
    }
  }
  return op;
}

// Module trees are read recursively; real ones are a few levels deep (model, layers, layer, block).
constexpr int kMaxModuleDepth = 256;

Module ModuleFromJson(const JsonView& v, DType model_dtype, int depth) {
  if (depth > kMaxModuleDepth) v.Fail("modules nest deeper than " + std::to_string(kMaxModuleDepth) + " levels");
  v.RejectUnknownKeys({"name", "type", "ops", "children"});
  Module m;
  m.name = v.StrOr("name", "");
  m.type = v.StrOr("type", "");
  if (auto ops = v.Find("ops"))
    for (size_t i = 0; i < ops->Size(); ++i) m.ops.push_back(OpFromJson(ops->At(i), model_dtype));
  if (auto children = v.Find("children")) {
    std::set<std::string> names;
    for (size_t i = 0; i < children->Size(); ++i) {
      m.children.push_back(ModuleFromJson(children->At(i), model_dtype, depth + 1));
      const std::string& n = m.children.back().name;
      if (n.empty() || n.find('.') != std::string::npos || !names.insert(n).second)
        children->At(i).FailField("name", "must be a non-empty name without dots, unique among siblings");
    }
  }
  return m;
}

}  // namespace

Json ModelToJson(const Model& m) {
  Json j = {{"format", "proteus.model/1"}, {"name", m.name}, {"dtype", DTypeName(m.dtype)}, {"seq_len", m.seq_len}, {"hidden", m.hidden},
            {"num_heads", m.num_heads}, {"num_kv_heads", m.num_kv_heads}, {"vocab", m.vocab},
            {"family", m.family}, {"ffn_hidden", m.ffn_hidden}, {"head_dim", m.head_dim},
            {"image_size", m.image_size}, {"tied_embeddings", m.tied_embeddings},
            {"fused_attention", m.fused_attention}};
  if (m.num_experts > 0) {
    j["num_experts"] = m.num_experts;
    j["moe_top_k"] = m.moe_top_k;
  }
  j["root"] = ModuleToJson(m.root);
  return j;
}

Model ModelFromJson(const JsonView& v) {
  v.RejectUnknownKeys({"format", "name", "dtype", "seq_len", "hidden", "num_heads", "num_kv_heads", "vocab",
                       "family", "ffn_hidden", "head_dim", "image_size", "tied_embeddings", "fused_attention",
                       "num_experts", "moe_top_k", "root"});
  Model m;
  m.name = v.Str("name");
  m.dtype = ParseDTypeField(v, "dtype", DType::kBf16);
  m.seq_len = v.IntOr("seq_len", 0);
  m.hidden = v.IntOr("hidden", 0);
  m.num_heads = v.IntOr("num_heads", 0);
  m.num_kv_heads = v.IntOr("num_kv_heads", 0);
  m.vocab = v.IntOr("vocab", 0);
  m.family = v.StrOr("family", "");
  m.ffn_hidden = v.IntOr("ffn_hidden", 0);
  m.head_dim = v.IntOr("head_dim", 0);
  m.image_size = v.IntOr("image_size", 0);
  m.tied_embeddings = v.BoolOr("tied_embeddings", false);
  m.fused_attention = v.BoolOr("fused_attention", true);
  m.num_experts = v.IntOr("num_experts", 0);
  m.moe_top_k = v.IntOr("moe_top_k", 0);
  for (const char* k : {"seq_len", "hidden", "num_heads", "num_kv_heads", "vocab", "ffn_hidden", "head_dim", "image_size",
                        "num_experts", "moe_top_k"})
    if (v.IntOr(k, 0) < 0 || static_cast<double>(v.IntOr(k, 0)) > kMaxPoints)
      v.FailField(k, "must be within [0, 2^53]");
  m.root = ModuleFromJson(v.At("root"), m.dtype, 0);
  const Module* layers = FindModule(m.root, "layers");
  m.num_layers = layers ? static_cast<int64_t>(layers->children.size()) : 0;
  return m;
}

}  // namespace proteus
