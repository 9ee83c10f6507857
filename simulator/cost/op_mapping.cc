#include "simulator/cost/op_mapping.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string>

#include "common/error.h"
#include "simulator/cost/op_work.h"

namespace proteus {
namespace {

using DimSet = std::set<std::string>;

DimSet Axes(const TensorUse* t) { return t ? DimSet(t->axes.begin(), t->axes.end()) : DimSet{}; }

const TensorUse* Nth(const Operator& op, TensorRole role, int n) {
  for (const auto& t : op.tensors)
    if (t.role == role && n-- == 0) return &t;
  return nullptr;
}

const TensorUse* Named(const Operator& op, TensorRole role, const std::string& name, int fallback_index) {
  for (const auto& t : op.tensors)
    if (t.role == role && t.name == name) return &t;
  return Nth(op, role, fallback_index);
}

int64_t Size(const Operator& op, std::initializer_list<const char*> names, int64_t fallback) {
  for (const char* n : names)
    if (const Dim* d = op.FindDim(n)) return d->size;
  return fallback;
}

bool IsNamed(const Dim& d, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (d.name == n) return true;
  return false;
}

// Product of the sizes of dims for which `pred` holds.
template <typename Pred>
int64_t Product(const Operator& op, Pred pred) {
  int64_t p = 1;
  for (const auto& d : op.dims)
    if (pred(d)) p *= d.size;
  return p;
}

[[noreturn]] void Malformed(const Operator& op, const std::string& what) {
  throw InternalError("operator \"" + op.name + "\" (" + std::string(OpKindName(op.kind)) +
                      "): " + what + " (conventions in simulator/cost/op_mapping.h)");
}

OpKey MakeKey(const Operator& op, Phase phase, const char* kind, std::map<std::string, int64_t> shape) {
  OpKey key;
  key.kind = kind;
  key.dtype = op.dtype;
  key.phase = phase;
  key.shape = std::move(shape);
  return key;
}

OpKey Linear(const Operator& op, Phase phase) {
  const TensorUse* w = Nth(op, TensorRole::kWeight, 0);
  if (!w) Malformed(op, "a linear needs a weight tensor");
  DimSet wd = Axes(w);
  int64_t k = Product(op, [](const Dim& d) { return d.kind == DimKind::kReduce; });
  int64_t batch = Product(op, [&](const Dim& d) { return wd.count(d.name) && d.kind == DimKind::kBatch; });
  int64_t n = Product(op, [&](const Dim& d) {
    return wd.count(d.name) && d.kind != DimKind::kReduce && d.kind != DimKind::kBatch;
  });
  int64_t m = Product(op, [&](const Dim& d) { return !wd.count(d.name) && d.kind != DimKind::kReduce; });
  bool batched = std::any_of(op.dims.begin(), op.dims.end(),
                             [&](const Dim& d) { return wd.count(d.name) && d.kind == DimKind::kBatch; });
  if (batched) return MakeKey(op, phase, "bgemm", {{"batch", batch}, {"m", m}, {"n", n}, {"k", k}});
  return MakeKey(op, phase, "gemm", {{"m", m}, {"n", n}, {"k", k}});
}

OpKey BatchedMatmul(const Operator& op, Phase phase) {
  DimSet a = Axes(Nth(op, TensorRole::kInput, 0)), b = Axes(Nth(op, TensorRole::kInput, 1)),
         c = Axes(Nth(op, TensorRole::kOutput, 0));
  if (a.empty() || b.empty() || c.empty()) Malformed(op, "a batched matmul needs two inputs and an output");
  int64_t m = Product(op, [&](const Dim& d) { return a.count(d.name) && c.count(d.name) && !b.count(d.name); });
  int64_t n = Product(op, [&](const Dim& d) { return b.count(d.name) && c.count(d.name) && !a.count(d.name); });
  int64_t k = Product(op, [&](const Dim& d) { return a.count(d.name) && b.count(d.name) && !c.count(d.name); });
  int64_t batch = op.Points() / std::max<int64_t>(1, m * n * k);
  return MakeKey(op, phase, "bgemm", {{"batch", batch}, {"m", m}, {"n", n}, {"k", k}});
}

int64_t HeadsOf(const Operator& op, const TensorUse* t, int64_t batch, int64_t seq, int64_t head_dim) {
  double per_head = static_cast<double>(batch) * static_cast<double>(seq) * static_cast<double>(head_dim);
  return std::max<int64_t>(1, std::llround(static_cast<double>(op.TensorElements(*t)) / per_head));
}

OpKey Attention(const Operator& op, Phase phase) {
  int64_t head_dim = Size(op, {"d", "head_dim", "dh"}, -1);
  int64_t seq_q = Size(op, {"s", "sq", "seq_q", "seq"}, -1);
  if (head_dim <= 0 || seq_q <= 0) Malformed(op, "attention needs dims \"s\" (query sequence) and \"d\" (head dim)");
  int64_t seq_kv = Size(op, {"t", "skv", "seq_kv", "s_kv"}, seq_q);
  int64_t batch = Size(op, {"b", "batch"}, 1);
  const TensorUse* q = Named(op, TensorRole::kInput, "q", 0);
  const TensorUse* k = Named(op, TensorRole::kInput, "k", 1);
  if (!q) Malformed(op, "attention needs its query as an input tensor");
  int64_t heads = HeadsOf(op, q, batch, seq_q, head_dim);
  int64_t kv_heads = k ? std::min(heads, HeadsOf(op, k, batch, seq_kv, head_dim)) : heads;
  OpKey key = MakeKey(op, phase, "attention",
                      {{"batch", batch}, {"heads", heads}, {"kv_heads", kv_heads}, {"seq_q", seq_q},
                       {"seq_kv", seq_kv}, {"head_dim", head_dim}});
  auto it = op.attrs.find("causal");
  key.attrs["causal"] = it != op.attrs.end() && (it->second == "1" || it->second == "true") ? "1" : "0";
  return key;
}

// Size of what a normalization reduces over: its opaque/reduce dims, else the last input axis.
int64_t NormalizedCols(const Operator& op) {
  int64_t cols = Product(op, [](const Dim& d) { return d.kind == DimKind::kOpaque || d.kind == DimKind::kReduce; });
  bool any = std::any_of(op.dims.begin(), op.dims.end(),
                         [](const Dim& d) { return d.kind == DimKind::kOpaque || d.kind == DimKind::kReduce; });
  if (any) return cols;
  const TensorUse* x = Nth(op, TensorRole::kInput, 0);
  if (!x) x = Nth(op, TensorRole::kOutput, 0);
  if (!x || x->axes.empty()) return 1;
  const Dim* last = op.FindDim(x->axes.back());
  return last ? last->size : 1;
}

OpKey RowsCols(const Operator& op, Phase phase, const char* kind, const char* rows_name, const char* cols_name) {
  int64_t cols = std::max<int64_t>(1, NormalizedCols(op));
  return MakeKey(op, phase, kind, {{rows_name, op.Points() / cols}, {cols_name, cols}});
}

OpKey Swiglu(const Operator& op, Phase phase) {
  const TensorUse* y = Nth(op, TensorRole::kOutput, 0);
  if (!y || y->axes.empty()) Malformed(op, "swiglu needs an output tensor");
  DimSet out = Axes(y);
  int64_t cols = Product(op, [&](const Dim& d) { return out.count(d.name) && d.kind != DimKind::kBatch; });
  if (cols == 1) cols = op.FindDim(y->axes.back()) ? op.FindDim(y->axes.back())->size : 1;
  return MakeKey(op, phase, "swiglu", {{"rows", op.TensorElements(*y) / std::max<int64_t>(1, cols)}, {"cols", cols}});
}

OpKey Rope(const Operator& op, Phase phase) {
  int64_t head_dim = Size(op, {"d", "head_dim", "dh"}, -1);
  if (head_dim <= 0) {
    const TensorUse* x = Nth(op, TensorRole::kInput, 0);
    const Dim* last = x && !x->axes.empty() ? op.FindDim(x->axes.back()) : nullptr;
    head_dim = last ? last->size : 1;
  }
  int64_t tokens = Product(op, [](const Dim& d) { return IsNamed(d, {"b", "batch", "s", "t", "seq"}); });
  int64_t heads = std::max<int64_t>(1, op.Points() / std::max<int64_t>(1, tokens * head_dim));
  return MakeKey(op, phase, "rope", {{"tokens", tokens}, {"heads", heads}, {"head_dim", head_dim}});
}

OpKey Embedding(const Operator& op, Phase phase) {
  const TensorUse* w = Nth(op, TensorRole::kWeight, 0);
  if (!w) Malformed(op, "an embedding needs a weight tensor");
  DimSet wd = Axes(w), out = Axes(Nth(op, TensorRole::kOutput, 0));
  int64_t vocab = Product(op, [&](const Dim& d) { return wd.count(d.name) && !out.count(d.name); });
  int64_t hidden = Product(op, [&](const Dim& d) { return wd.count(d.name) && out.count(d.name); });
  int64_t tokens = Product(op, [&](const Dim& d) { return !wd.count(d.name); });
  return MakeKey(op, phase, "embedding", {{"tokens", tokens}, {"vocab", vocab}, {"hidden", hidden}});
}

int64_t AttrInt(const Operator& op, const char* name, int64_t fallback) {
  auto it = op.attrs.find(name);
  if (it == op.attrs.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    Malformed(op, std::string("attribute ") + name + " is not an integer: \"" + it->second + "\"");
  }
}

// Output axes outside the weight, as (leading product, second-to-last, last).
struct OutSpatial {
  int64_t lead = 1, p = 1, q = 1;
};
OutSpatial OutputSpatial(const Operator& op, const DimSet& exclude) {
  const TensorUse* y = Nth(op, TensorRole::kOutput, 0);
  if (!y) Malformed(op, "needs an output tensor");
  std::vector<int64_t> sizes;
  for (const auto& a : y->axes)
    if (!exclude.count(a) && op.FindDim(a)) sizes.push_back(op.FindDim(a)->size);
  OutSpatial o;
  if (!sizes.empty()) o.q = sizes.back(), sizes.pop_back();
  if (!sizes.empty()) o.p = sizes.back(), sizes.pop_back();
  for (int64_t s : sizes) o.lead *= s;
  return o;
}

OpKey Conv2d(const Operator& op, Phase phase) {
  const TensorUse* w = Nth(op, TensorRole::kWeight, 0);
  if (!w) Malformed(op, "a conv2d needs a weight tensor");
  DimSet wd = Axes(w), out = Axes(Nth(op, TensorRole::kOutput, 0));
  int64_t r = Size(op, {"r", "kh"}, 1), s = Size(op, {"s", "kw"}, 1);
  int64_t k = Product(op, [&](const Dim& d) { return wd.count(d.name) && out.count(d.name); });
  int64_t c = Product(op, [&](const Dim& d) {
    return wd.count(d.name) && !out.count(d.name) && !IsNamed(d, {"r", "s", "kh", "kw"});
  });
  int64_t stride = std::max<int64_t>(1, AttrInt(op, "stride", 1)), pad = std::max<int64_t>(0, AttrInt(op, "pad", 0));
  OutSpatial o = OutputSpatial(op, wd);
  int64_t h = std::max<int64_t>(1, (o.p - 1) * stride + r - 2 * pad);
  int64_t wi = std::max<int64_t>(1, (o.q - 1) * stride + s - 2 * pad);
  return MakeKey(op, phase, "conv2d",
                 {{"n", o.lead}, {"c", c}, {"h", h}, {"w", wi}, {"k", k}, {"r", r}, {"s", s},
                  {"stride", stride}, {"pad", pad}});
}

OpKey BatchNorm(const Operator& op, Phase phase) {
  const TensorUse* w = Nth(op, TensorRole::kWeight, 0);
  DimSet channel = w ? Axes(w) : DimSet{};
  if (channel.empty() && op.FindDim("c")) channel.insert("c");
  int64_t c = Product(op, [&](const Dim& d) { return channel.count(d.name); });
  OutSpatial o = OutputSpatial(op, channel);
  return MakeKey(op, phase, "batchnorm", {{"n", o.lead}, {"c", c}, {"h", o.p}, {"w", o.q}});
}

OpKey Pool(const Operator& op, Phase phase) {
  int64_t window = AttrInt(op, "window", Size(op, {"r", "kh"}, 2));
  int64_t stride = std::max<int64_t>(1, AttrInt(op, "stride", window));
  OutSpatial o = OutputSpatial(op, {});
  // Output axes (n, c, p, q): the leading product is n*c; keep it in n (bytes depend on the product).
  OpKey key = MakeKey(op, phase, "pool",
                      {{"n", o.lead}, {"c", 1}, {"h", (o.p - 1) * stride + window}, {"w", (o.q - 1) * stride + window},
                       {"window", window}, {"stride", stride}});
  auto it = op.attrs.find("mode");
  key.attrs["mode"] = it == op.attrs.end() ? "max" : it->second;
  return key;
}

OpKey Elementwise(const Operator& op, Phase phase, const char* kind) {
  return MakeKey(op, phase, kind, {{"elements", op.Points()}});
}

}  // namespace

OpKey OptimizerStepKey(int64_t params, DType dtype) {
  OpKey key;
  key.kind = "adam";
  key.dtype = dtype;
  key.phase = Phase::kStep;
  key.shape = {{"params", params}};
  return key;
}

bool OperatorRunsPhase(const Operator& op, Phase phase) {
  switch (phase) {
    case Phase::kFwd: return true;
    case Phase::kBwdData: return op.kind != OpKind::kEmbedding;
    case Phase::kBwdWeight:
    case Phase::kStep: return op.WeightParams() > 0;
  }
  return false;
}

OpKey KeyForOperator(const Operator& op, Phase phase) {
  if (!OperatorRunsPhase(op, phase))
    Malformed(op, "has no " + std::string(PhaseName(phase)) + " kernel (check OperatorRunsPhase first)");
  if (phase == Phase::kStep) {
    const TensorUse* w = Nth(op, TensorRole::kWeight, 0);
    return OptimizerStepKey(op.WeightParams(), w ? w->dtype : op.dtype);
  }
  switch (op.kind) {
    case OpKind::kLinear: return Linear(op, phase);
    case OpKind::kBatchedMatmul: return BatchedMatmul(op, phase);
    case OpKind::kAttention: return Attention(op, phase);
    case OpKind::kLayerNorm: return RowsCols(op, phase, "layernorm", "rows", "cols");
    case OpKind::kRmsNorm: return RowsCols(op, phase, "rmsnorm", "rows", "cols");
    case OpKind::kSoftmax: return RowsCols(op, phase, "softmax", "rows", "cols");
    case OpKind::kCrossEntropy: return RowsCols(op, phase, "cross_entropy", "tokens", "vocab");
    case OpKind::kGelu: return Elementwise(op, phase, "gelu");
    case OpKind::kDropout: return Elementwise(op, phase, "dropout");
    case OpKind::kAdd: return Elementwise(op, phase, "add");
    case OpKind::kRelu: {
      OpKey key = Elementwise(op, phase, "gelu");  // common/op_key.h has no relu: a unary activation
      key.attrs["fn"] = "relu";
      return key;
    }
    case OpKind::kSwiglu: return Swiglu(op, phase);
    case OpKind::kRope: return Rope(op, phase);
    case OpKind::kEmbedding: return Embedding(op, phase);
    case OpKind::kConv2d: return Conv2d(op, phase);
    case OpKind::kBatchNorm: return BatchNorm(op, phase);
    case OpKind::kPool: return Pool(op, phase);
  }
  Malformed(op, "unknown operator kind");
}

double OperatorFlops(const Operator& op, Phase phase) {
  if (!OperatorRunsPhase(op, phase)) return 0;
  double fwd = op.ForwardFlops();
  switch (phase) {
    case Phase::kFwd: return fwd;
    case Phase::kBwdData: return op.WeightParams() > 0 ? fwd : 2 * fwd;
    case Phase::kBwdWeight: return fwd;
    case Phase::kStep: return 0;
  }
  return 0;
}

int64_t OperatorBytes(const Operator& op, Phase phase) {
  if (!OperatorRunsPhase(op, phase)) return 0;
  return static_cast<int64_t>(std::llround(WorkOf(KeyForOperator(op, phase)).bytes));
}

}  // namespace proteus
