#include "simulator/cost/op_mapping.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>

#include "common/error.h"
#include "simulator/cost/op_work.h"

namespace proteus {
namespace {

using DimSet = std::set<std::string>;

[[noreturn]] void Malformed(const Operator& op, const std::string& what) {
  throw InternalError("operator \"" + op.name + "\" (" + std::string(OpKindName(op.kind)) + ", " +
                      std::string(PhaseName(op.phase)) + "): " + what +
                      " (conventions in simulator/cost/op_mapping.h)");
}

bool IsGrad(const TensorUse& t) { return t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".grad") == 0; }
bool IsInteger(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

// The n-th tensor of `role` for which `pred` holds.
template <typename Pred>
const TensorUse* Find(const Operator& op, TensorRole role, Pred pred, int n = 0) {
  for (const auto& t : op.tensors)
    if (t.role == role && pred(t) && n-- == 0) return &t;
  return nullptr;
}
const TensorUse* Nth(const Operator& op, TensorRole role, int n = 0) {
  return Find(op, role, [](const TensorUse&) { return true; }, n);
}

// The main weight: "<path>.weight" when there is one (not the bias), else the first.
const TensorUse* MainWeight(const Operator& op, TensorRole role) {
  auto is_weight = [](const TensorUse& t) {
    std::string n = IsGrad(t) ? t.name.substr(0, t.name.size() - 5) : t.name;
    return n.size() >= 7 && n.compare(n.size() - 7, 7, ".weight") == 0;
  };
  const TensorUse* w = Find(op, role, is_weight);
  return w ? w : Nth(op, role);
}

DimSet Axes(const TensorUse* t) { return t ? DimSet(t->axes.begin(), t->axes.end()) : DimSet{}; }

// Iterated dims (not extent-only) only: extent dims size tensors but are not work.
int64_t Size(const Operator& op, std::initializer_list<const char*> names, int64_t fallback) {
  for (const char* n : names)
    if (const Dim* d = op.FindDim(n)) return d->size;
  return fallback;
}

template <typename Pred>
int64_t Product(const Operator& op, Pred pred) {
  int64_t p = 1;
  for (const auto& d : op.dims)
    if (!d.extent_only && pred(d)) p *= d.size;
  return p;
}

// Product of the dims an attribute lists ("b,g,r"); nullopt when absent or naming an unknown dim.
std::optional<int64_t> AttrDims(const Operator& op, const char* name) {
  auto it = op.attrs.find(name);
  if (it == op.attrs.end()) return std::nullopt;
  int64_t p = 1;
  size_t start = 0;
  const std::string& list = it->second;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string dim = list.substr(start, comma - start);
    if (!dim.empty()) {
      const Dim* d = op.FindDim(dim);
      if (!d) Malformed(op, std::string("attribute ") + name + " names unknown dim \"" + dim + "\"");
      p *= d->size;
    }
    start = comma + 1;
  }
  return p;
}

int64_t AttrInt(const Operator& op, const char* name, int64_t fallback) {
  auto it = op.attrs.find(name);
  if (it == op.attrs.end()) return fallback;
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  Malformed(op, std::string("attribute ") + name + " is not an integer: \"" + it->second + "\"");
}

OpKey MakeKey(const Operator& op, Phase phase, const char* kind, std::map<std::string, int64_t> shape) {
  OpKey key;
  key.kind = kind;
  key.dtype = op.dtype;
  key.phase = phase;
  key.shape = std::move(shape);
  return key;
}

// Operands A (data input), B (weight or second input), C (output) of the forward, found again in
// a backward op's tensors.
struct Operands {
  const TensorUse *a = nullptr, *b = nullptr, *c = nullptr;
};
Operands MatmulOperands(const Operator& op) {
  auto grad = [](const TensorUse& t) { return IsGrad(t); };
  auto plain = [](const TensorUse& t) { return !IsGrad(t); };
  bool weighted = op.kind != OpKind::kBatchedMatmul;
  switch (op.phase) {
    case Phase::kBwdData:
      return {Nth(op, TensorRole::kOutput), weighted ? MainWeight(op, TensorRole::kWeight) : Find(op, TensorRole::kInput, plain, 1),
              Find(op, TensorRole::kInput, grad)};
    case Phase::kBwdWeight:
      return {Find(op, TensorRole::kInput, plain), MainWeight(op, TensorRole::kOutput), Find(op, TensorRole::kInput, grad)};
    default:
      return {Nth(op, TensorRole::kInput), weighted ? MainWeight(op, TensorRole::kWeight) : Nth(op, TensorRole::kInput, 1),
              Nth(op, TensorRole::kOutput)};
  }
}

struct MatmulDims {
  int64_t batch = 1, m = 1, n = 1, k = 1;
  bool batched = false;   // some dim indexes A, B and C
};
MatmulDims MatmulShape(const Operator& op) {
  MatmulDims s;
  auto hm = AttrDims(op, "m"), hn = AttrDims(op, "n"), hk = AttrDims(op, "k");
  if (hm && hn && hk) {
    s = {AttrDims(op, "batch").value_or(1), *hm, *hn, *hk, op.attrs.count("batch") > 0};
    return s;
  }
  Operands o = MatmulOperands(op);
  if (!o.b || !o.c) Malformed(op, "cannot find its operands B and C (or attrs m, n, k)");
  DimSet a = Axes(o.a), b = Axes(o.b), c = Axes(o.c);
  auto in = [](const DimSet& set, const Dim& d) { return set.count(d.name) > 0; };
  // A backward op that did not keep A (the pooler reads one position of a kept tensor) still has
  // B and C: A holds what is in exactly one of them.
  if (!o.a)
    for (const auto& d : op.dims)
      if (in(b, d) != in(c, d)) a.insert(d.name);
  s.batch = Product(op, [&](const Dim& d) { return in(a, d) && in(b, d) && in(c, d); });
  s.m = Product(op, [&](const Dim& d) { return in(a, d) && in(c, d) && !in(b, d); });
  s.n = Product(op, [&](const Dim& d) { return in(b, d) && in(c, d) && !in(a, d); });
  s.k = Product(op, [&](const Dim& d) { return in(a, d) && in(b, d) && !in(c, d); });
  s.batched = std::any_of(op.dims.begin(), op.dims.end(),
                          [&](const Dim& d) { return !d.extent_only && in(a, d) && in(b, d) && in(c, d); });
  return s;
}

OpKey Matmul(const Operator& op, Phase phase) {
  MatmulDims s = MatmulShape(op);
  if (s.batched || op.kind == OpKind::kBatchedMatmul)
    return MakeKey(op, phase, "bgemm", {{"batch", s.batch}, {"m", s.m}, {"n", s.n}, {"k", s.k}});
  return MakeKey(op, phase, "gemm", {{"m", s.m}, {"n", s.n}, {"k", s.k}});
}

OpKey Attention(const Operator& op, Phase phase) {
  int64_t head_dim = Size(op, {"d", "head_dim"}, -1);
  int64_t seq_q = Size(op, {"s", "seq_q"}, -1);
  if (head_dim <= 0 || seq_q <= 0) Malformed(op, "attention needs dims \"s\" (queries) and \"d\" (head dim)");
  int64_t seq_kv = Size(op, {"t", "seq_kv"}, seq_q);
  int64_t batch = Size(op, {"b", "batch"}, 1);
  double per_head = static_cast<double>(batch) * static_cast<double>(seq_q) * static_cast<double>(head_dim) *
                    static_cast<double>(op.FindDim("t") || op.FindDim("seq_kv") ? seq_kv : 1);
  int64_t heads = std::max<int64_t>(1, std::llround(static_cast<double>(op.Points()) / per_head));
  int64_t kv_heads = std::min(heads, Size(op, {"g", "kv_heads"}, heads));
  OpKey key = MakeKey(op, phase, "attention",
                      {{"batch", batch}, {"heads", heads}, {"kv_heads", kv_heads}, {"seq_q", seq_q},
                       {"seq_kv", seq_kv}, {"head_dim", head_dim}});
  auto it = op.attrs.find("causal");
  key.attrs["causal"] = it != op.attrs.end() && (it->second == "1" || it->second == "true") ? "1" : "0";
  return key;
}

int64_t LastAxis(const Operator& op, const TensorUse* t) {
  const Dim* d = t && !t->axes.empty() ? op.FindDim(t->axes.back()) : nullptr;
  return d ? d->size : 1;
}

// What a normalization reduces over: its opaque dims (they stay opaque in backward ops).
OpKey RowsCols(const Operator& op, Phase phase, const char* kind) {
  bool any = std::any_of(op.dims.begin(), op.dims.end(),
                         [](const Dim& d) { return !d.extent_only && d.kind == DimKind::kOpaque; });
  int64_t cols = any ? Product(op, [](const Dim& d) { return d.kind == DimKind::kOpaque; })
                     : LastAxis(op, op.tensors.empty() ? nullptr : &op.tensors.front());
  cols = std::max<int64_t>(1, cols);
  return MakeKey(op, phase, kind, {{"rows", op.Points() / cols}, {"cols", cols}});
}

OpKey CrossEntropy(const Operator& op, Phase phase) {
  const TensorUse* logits = op.phase == Phase::kFwd ? Nth(op, TensorRole::kInput) : Nth(op, TensorRole::kOutput);
  int64_t vocab = std::max<int64_t>(1, Size(op, {"v", "vocab"}, LastAxis(op, logits)));
  return MakeKey(op, phase, "cross_entropy", {{"tokens", op.Points() / vocab}, {"vocab", vocab}});
}

OpKey Swiglu(const Operator& op, Phase phase) {
  const TensorUse* y = op.phase == Phase::kFwd ? Nth(op, TensorRole::kOutput) : Find(op, TensorRole::kInput, IsGrad);
  int64_t cols = std::max<int64_t>(1, Size(op, {"f"}, LastAxis(op, y)));
  return MakeKey(op, phase, "swiglu", {{"rows", op.Points() / cols}, {"cols", cols}});
}

OpKey Rope(const Operator& op, Phase phase) {
  int64_t head_dim = std::max<int64_t>(1, Size(op, {"d", "head_dim"}, LastAxis(op, Nth(op, TensorRole::kInput))));
  int64_t tokens = Size(op, {"b"}, 1) * Size(op, {"s"}, 1);
  int64_t heads = std::max<int64_t>(1, op.Points() / std::max<int64_t>(1, tokens * head_dim));
  return MakeKey(op, phase, "rope", {{"tokens", tokens}, {"heads", heads}, {"head_dim", head_dim}});
}

OpKey Embedding(const Operator& op, Phase phase) {
  // The table is the weight (fwd) or the written gradient (bwd_weight); the looked-up rows are the
  // output (fwd) or the incoming gradient (bwd).
  bool fwd = op.phase == Phase::kFwd;
  const TensorUse* table = fwd ? MainWeight(op, TensorRole::kWeight) : MainWeight(op, TensorRole::kOutput);
  const TensorUse* rows = fwd ? Nth(op, TensorRole::kOutput) : Find(op, TensorRole::kInput, IsGrad);
  if (!table || !rows) Malformed(op, "an embedding needs its table and its output");
  DimSet w = Axes(table), out = Axes(rows);
  int64_t vocab = Product(op, [&](const Dim& d) { return w.count(d.name) && !out.count(d.name); });
  int64_t hidden = Product(op, [&](const Dim& d) { return w.count(d.name) && out.count(d.name); });
  int64_t tokens = Product(op, [&](const Dim& d) { return !w.count(d.name); });
  return MakeKey(op, phase, "embedding", {{"tokens", tokens}, {"vocab", vocab}, {"hidden", hidden}});
}

OpKey Conv2d(const Operator& op, Phase phase) {
  int64_t r = Size(op, {"kh", "r"}, 1), s = Size(op, {"kw", "s"}, 1);
  int64_t stride = std::max<int64_t>(1, AttrInt(op, "stride", 1)), pad = std::max<int64_t>(0, AttrInt(op, "pad", 0));
  int64_t oh = Size(op, {"oh", "p"}, 1), ow = Size(op, {"ow", "q"}, 1);
  // Input size from the extent dims; else from the output size, stride and padding.
  int64_t h = Size(op, {"ih"}, (oh - 1) * stride + r - 2 * pad);
  int64_t w = Size(op, {"iw"}, (ow - 1) * stride + s - 2 * pad);
  if (op.attrs.count("pad_h") || op.attrs.count("pad_w")) {
    // Padding that differs per axis (Inception's 1x7 / 7x1): keyed as the explicitly padded input
    // with pad 0, which has the same output size and work.
    h += 2 * std::max<int64_t>(0, AttrInt(op, "pad_h", pad));
    w += 2 * std::max<int64_t>(0, AttrInt(op, "pad_w", pad));
    pad = 0;
  }
  return MakeKey(op, phase, "conv2d",
                 {{"n", Size(op, {"b", "n"}, 1)}, {"c", Size(op, {"c"}, 1)}, {"h", std::max<int64_t>(1, h)},
                  {"w", std::max<int64_t>(1, w)}, {"k", Size(op, {"k"}, 1)}, {"r", r}, {"s", s},
                  {"stride", stride}, {"pad", pad}});
}

OpKey BatchNorm(const Operator& op, Phase phase) {
  return MakeKey(op, phase, "batchnorm",
                 {{"n", Size(op, {"b", "n"}, 1)}, {"c", Size(op, {"k", "c"}, 1)}, {"h", Size(op, {"oh", "h"}, 1)},
                  {"w", Size(op, {"ow", "w"}, 1)}});
}

OpKey Pool(const Operator& op, Phase phase) {
  int64_t window = std::max<int64_t>(1, AttrInt(op, "window", Size(op, {"kh"}, 1)));
  int64_t stride = std::max<int64_t>(1, AttrInt(op, "stride", window));
  OpKey key = MakeKey(op, phase, "pool",
                      {{"n", Size(op, {"b", "n"}, 1)}, {"c", Size(op, {"k", "c"}, 1)},
                       {"h", Size(op, {"ih", "h"}, window)}, {"w", Size(op, {"iw", "w"}, window)},
                       {"window", window}, {"stride", stride}});
  auto it = op.attrs.find("mode");
  key.attrs["mode"] = it == op.attrs.end() ? "max" : it->second;
  return key;
}

// A concat (and its backward, the split of the gradient) reads and writes every output element
// once: a device-to-device copy of the output's bytes.
OpKey Concat(const Operator& op, Phase phase) {
  OpKey key = MakeKey(op, phase, "copy", {{"bytes", op.Points() * DTypeBytes(op.dtype)}});
  key.attrs["dir"] = "d2d";
  return key;
}

OpKey Elementwise(const Operator& op, Phase phase, const char* kind) {
  return MakeKey(op, phase, kind, {{"elements", op.Points()}});
}

OpKey ByKind(const Operator& op, Phase phase) {
  switch (op.kind) {
    case OpKind::kLinear:
    case OpKind::kBatchedMatmul: return Matmul(op, phase);
    case OpKind::kAttention: return Attention(op, phase);
    case OpKind::kLayerNorm: return RowsCols(op, phase, "layernorm");
    case OpKind::kRmsNorm: return RowsCols(op, phase, "rmsnorm");
    case OpKind::kSoftmax: return RowsCols(op, phase, "softmax");
    case OpKind::kCrossEntropy: return CrossEntropy(op, phase);
    case OpKind::kGelu: {
      OpKey key = Elementwise(op, phase, "gelu");
      if (auto it = op.attrs.find("fn"); it != op.attrs.end()) key.attrs["fn"] = it->second;  // tanh
      return key;
    }
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
    case OpKind::kConcat: return Concat(op, phase);
  }
  Malformed(op, "unknown operator kind");
}

// Weight tensors (fwd) or weight gradients (bwd_weight) and their parameter count.
int64_t ParamsOf(const Operator& op) {
  if (op.phase != Phase::kBwdWeight) return op.WeightParams();
  int64_t n = 0;
  for (const auto& t : op.tensors)
    if (t.role == TensorRole::kOutput) n += op.TensorElements(t);
  return n;
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
  if (op.phase != Phase::kFwd) return phase == op.phase || (phase == Phase::kStep && op.phase == Phase::kBwdWeight);
  switch (phase) {
    case Phase::kFwd: return true;
    case Phase::kBwdData:
      return std::any_of(op.tensors.begin(), op.tensors.end(), [](const TensorUse& t) {
        return t.role == TensorRole::kInput && t.needs_grad && !IsInteger(t.dtype);
      });
    case Phase::kBwdWeight:
    case Phase::kStep: return op.WeightParams() > 0;
  }
  return false;
}

OpKey KeyForOperator(const Operator& op, Phase phase) {
  if (!OperatorRunsPhase(op, phase))
    Malformed(op, "has no " + std::string(PhaseName(phase)) + " kernel (check OperatorRunsPhase first)");
  if (phase == Phase::kStep) {
    const TensorUse* w = MainWeight(op, op.phase == Phase::kFwd ? TensorRole::kWeight : TensorRole::kOutput);
    return OptimizerStepKey(ParamsOf(op), w ? w->dtype : op.dtype);
  }
  return ByKind(op, phase);
}

OpKey KeyForOperator(const Operator& op) { return KeyForOperator(op, op.phase); }

double OperatorFlops(const Operator& op, Phase phase) {
  if (phase == Phase::kStep || !OperatorRunsPhase(op, phase)) return 0;
  double own = op.ForwardFlops();
  if (phase == op.phase) return own;
  switch (op.kind) {
    case OpKind::kLinear:
    case OpKind::kConv2d: return own;
    case OpKind::kBatchedMatmul:
    case OpKind::kAttention: return phase == Phase::kBwdData ? 2 * own : 0;
    default: return 0;
  }
}

int64_t OperatorBytes(const Operator& op, Phase phase) {
  if (!OperatorRunsPhase(op, phase)) return 0;
  return static_cast<int64_t>(std::llround(WorkOf(KeyForOperator(op, phase)).bytes));
}

}  // namespace proteus
