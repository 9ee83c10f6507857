#include "simulator/calibrate/kernel_classify.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>

namespace proteus {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool Contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Product of sizes, saturating: the trace reader bounds every tensor's element count, so this
// only guards direct callers against overflow.
int64_t Prod(std::vector<int64_t>::const_iterator begin, std::vector<int64_t>::const_iterator end) {
  int64_t p = 1;
  for (auto it = begin; it != end; ++it) {
    if (*it != 0 && p > std::numeric_limits<int64_t>::max() / *it) return std::numeric_limits<int64_t>::max();
    p *= *it;
  }
  return p;
}
int64_t Numel(const std::vector<int64_t>& d) { return Prod(d.begin(), d.end()); }

const std::vector<int64_t>* Dims(const AtenCall& c, size_t i, size_t min_rank) {
  if (i >= c.inputs.size() || c.inputs[i].dims.size() < min_rank) return nullptr;
  return &c.inputs[i].dims;
}

std::string Concrete(const AtenCall& c, size_t i) { return i < c.inputs.size() ? c.inputs[i].concrete : ""; }

std::optional<int64_t> ConcreteInt(const AtenCall& c, size_t i) {
  std::string s = Concrete(c, i);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// "True" / "1" -> true, "False" / "0" -> false; nullopt when not recorded.
std::optional<bool> ConcreteBool(const AtenCall& c, size_t i) {
  std::string s = Lower(Concrete(c, i));
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return std::nullopt;
}

// "[4096]" or "[2, 2048]" (a normalized_shape) -> the product of its integers.
std::optional<int64_t> ConcreteListProduct(const AtenCall& c, size_t i) {
  std::string s = Concrete(c, i);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return std::nullopt;
  int64_t p = 1;
  bool any = false;
  const char* at = s.c_str() + 1;
  while (*at && *at != ']') {
    char* end = nullptr;
    long long v = std::strtoll(at, &end, 10);
    if (end == at || v <= 0) return std::nullopt;
    p *= v;
    any = true;
    at = end;
    while (*at == ',' || *at == ' ') ++at;
  }
  return any ? std::optional<int64_t>(p) : std::nullopt;
}

DType CallDType(const AtenCall& c, const AtenKeyOptions& o) {
  for (const auto& in : c.inputs)
    if (auto t = DTypeOfTraceType(in.type)) return *t;
  return o.default_dtype;
}

OpKey Key(const AtenCall& c, const AtenKeyOptions& o, const char* kind, std::map<std::string, int64_t> shape,
          Phase phase = Phase::kFwd) {
  OpKey key;
  key.kind = kind;
  key.dtype = CallDType(c, o);
  key.phase = phase;
  key.shape = std::move(shape);
  return key;
}

OpKey Gemm(const AtenCall& c, const AtenKeyOptions& o, int64_t m, int64_t n, int64_t k) {
  return Key(c, o, "gemm", {{"m", m}, {"n", n}, {"k", k}});
}
OpKey Bgemm(const AtenCall& c, const AtenKeyOptions& o, int64_t batch, int64_t m, int64_t n, int64_t k) {
  return Key(c, o, "bgemm", {{"batch", batch}, {"m", m}, {"n", n}, {"k", k}});
}

// A[m,k] B[k,n] at inputs a and b.
std::optional<OpKey> TwoDimProduct(const AtenCall& c, const AtenKeyOptions& o, size_t a, size_t b) {
  auto* x = Dims(c, a, 2);
  auto* y = Dims(c, b, 2);
  if (!x || !y || x->size() != 2 || y->size() != 2) return std::nullopt;
  return Gemm(c, o, (*x)[0], (*y)[1], (*x)[1]);
}

std::optional<OpKey> BatchedProduct(const AtenCall& c, const AtenKeyOptions& o, size_t a, size_t b) {
  auto* x = Dims(c, a, 3);
  auto* y = Dims(c, b, 3);
  if (!x || !y) return std::nullopt;
  int64_t batch = std::max(Prod(x->begin(), x->end() - 2), Prod(y->begin(), y->end() - 2));
  return Bgemm(c, o, batch, (*x)[x->size() - 2], y->back(), x->back());
}

// linear(input [..., k], weight [n, k], bias?): y = x W^T.
std::optional<OpKey> Linear(const AtenCall& c, const AtenKeyOptions& o) {
  auto* x = Dims(c, 0, 1);
  auto* w = Dims(c, 1, 2);
  if (!x || !w || w->size() != 2) return std::nullopt;
  return Gemm(c, o, Prod(x->begin(), x->end() - 1), (*w)[0], x->back());
}

// matmul broadcasts: a 2-D second operand is a gemm over all rows of the first.
std::optional<OpKey> Matmul(const AtenCall& c, const AtenKeyOptions& o) {
  auto* x = Dims(c, 0, 2);
  auto* y = Dims(c, 1, 2);
  if (!x || !y) return std::nullopt;
  if (y->size() == 2) return Gemm(c, o, Prod(x->begin(), x->end() - 1), (*y)[1], x->back());
  if (x->size() == 2) return Bgemm(c, o, Prod(y->begin(), y->end() - 2), (*x)[0], y->back(), (*x)[1]);
  return BatchedProduct(c, o, 0, 1);
}

// Attention ops: where q sits, its layout, and which argument says causal (native_functions.yaml).
struct AttentionSig {
  std::string_view name;
  size_t q;              // index of the query (k and v follow)
  bool heads_first;      // q [b, h, s, d] (the SDPA entry points) or [b, s, h, d] (flash/mem-efficient kernels)
  size_t causal;         // argument index of is_causal (or custom_mask_type)
  bool mask_type;        // the argument is a mask type: nonzero = causal
  bool backward;
};
const std::vector<AttentionSig>& AttentionOps() {
  static const std::vector<AttentionSig> kOps = {
      {"aten::scaled_dot_product_attention", 0, true, 5, false, false},
      {"aten::_scaled_dot_product_flash_attention", 0, true, 4, false, false},
      {"aten::_scaled_dot_product_efficient_attention", 0, true, 6, false, false},
      {"aten::_scaled_dot_product_cudnn_attention", 0, true, 6, false, false},
      {"aten::_flash_attention_forward", 0, false, 8, false, false},
      {"aten::_efficient_attention_forward", 0, false, 9, true, false},
      {"flash_attn::_flash_attn_forward", 0, false, 5, false, false},
      {"aten::_scaled_dot_product_flash_attention_backward", 1, true, 11, false, true},
      {"aten::_scaled_dot_product_efficient_attention_backward", 1, true, 11, false, true},
      {"aten::_scaled_dot_product_cudnn_attention_backward", 1, true, 14, false, true},
      {"aten::_flash_attention_backward", 1, false, 11, false, true},
      {"aten::_efficient_attention_backward", 1, false, 14, true, true},
      {"flash_attn::_flash_attn_backward", 1, false, 11, false, true},
  };
  return kOps;
}

std::optional<OpKey> Attention(const AtenCall& c, const AtenKeyOptions& o, const AttentionSig& sig) {
  auto* q = Dims(c, sig.q, 3);
  auto* k = Dims(c, sig.q + 1, 3);
  if (!q || !k) return std::nullopt;
  size_t r = q->size(), rk = k->size();
  int64_t heads = sig.heads_first ? (*q)[r - 3] : (*q)[r - 2];
  int64_t seq_q = sig.heads_first ? (*q)[r - 2] : (*q)[r - 3];
  int64_t kv_heads = sig.heads_first ? (*k)[rk - 3] : (*k)[rk - 2];
  int64_t seq_kv = sig.heads_first ? (*k)[rk - 2] : (*k)[rk - 3];
  OpKey key = Key(c, o, "attention",
                  {{"batch", Prod(q->begin(), q->end() - 3)}, {"heads", heads},
                   {"kv_heads", std::min(heads, kv_heads)}, {"seq_q", seq_q}, {"seq_kv", seq_kv},
                   {"head_dim", q->back()}},
                  sig.backward ? Phase::kBwdData : Phase::kFwd);
  bool causal = o.default_causal;
  if (sig.mask_type) {
    if (auto v = ConcreteInt(c, sig.causal)) causal = *v != 0;
  } else if (auto v = ConcreteBool(c, sig.causal)) {
    causal = *v;
  }
  key.attrs["causal"] = causal ? "1" : "0";
  return key;
}

// A norm over the trailing normalized_shape: from the weight's size, the recorded
// normalized_shape, or else the last dim.
std::optional<OpKey> Norm(const AtenCall& c, const AtenKeyOptions& o, const char* kind, size_t input, size_t shape,
                          size_t weight, Phase phase) {
  auto* x = Dims(c, input, 1);
  if (!x) return std::nullopt;
  int64_t cols = x->back();
  if (auto* w = Dims(c, weight, 1)) cols = Numel(*w);
  else if (auto s = ConcreteListProduct(c, shape)) cols = *s;
  if (cols <= 0) return std::nullopt;
  return Key(c, o, kind, {{"rows", Numel(*x) / cols}, {"cols", cols}}, phase);
}

std::optional<OpKey> Softmax(const AtenCall& c, const AtenKeyOptions& o, Phase phase, size_t dim_arg) {
  auto* x = Dims(c, 0, 1);
  if (!x) return std::nullopt;
  int64_t rank = static_cast<int64_t>(x->size());
  int64_t dim = ConcreteInt(c, dim_arg).value_or(-1);
  if (dim < 0) dim += rank;
  if (dim < 0 || dim >= rank || (*x)[dim] <= 0) return std::nullopt;
  int64_t cols = (*x)[dim];
  return Key(c, o, "softmax", {{"rows", Numel(*x) / cols}, {"cols", cols}}, phase);
}

std::optional<OpKey> Elementwise(const AtenCall& c, const AtenKeyOptions& o, const char* kind, Phase phase) {
  auto* x = Dims(c, 0, 1);
  if (!x) return std::nullopt;
  int64_t elements = Numel(*x);
  if (auto* y = Dims(c, 1, 1)) elements = std::max(elements, Numel(*y));  // add broadcasts
  return Key(c, o, kind, {{"elements", elements}}, phase);
}

std::optional<OpKey> Gelu(const AtenCall& c, const AtenKeyOptions& o, Phase phase, size_t approximate) {
  auto key = Elementwise(c, o, "gelu", phase);
  if (key && Contains(Lower(Concrete(c, approximate)), "tanh")) key->attrs["fn"] = "tanh";
  return key;
}

std::optional<OpKey> Relu(const AtenCall& c, const AtenKeyOptions& o, Phase phase) {
  auto key = Elementwise(c, o, "gelu", phase);
  if (key) key->attrs["fn"] = "relu";  // op_mapping.cc keys relu as an activation of the gelu family
  return key;
}

std::optional<OpKey> Embedding(const AtenCall& c, const AtenKeyOptions& o) {
  auto* w = Dims(c, 0, 2);
  if (!w || w->size() != 2 || c.inputs.size() < 2) return std::nullopt;
  return Key(c, o, "embedding", {{"tokens", Numel(c.inputs[1].dims)}, {"vocab", (*w)[0]}, {"hidden", (*w)[1]}});
}

// embedding_dense_backward(grad_output [..., h], indices, num_weights, ...): the vocabulary is
// only known when num_weights was recorded.
std::optional<OpKey> EmbeddingBackward(const AtenCall& c, const AtenKeyOptions& o) {
  auto* g = Dims(c, 0, 1);
  auto vocab = ConcreteInt(c, 2);
  if (!g || !vocab || *vocab <= 0 || c.inputs.size() < 2) return std::nullopt;
  return Key(c, o, "embedding", {{"tokens", Numel(c.inputs[1].dims)}, {"vocab", *vocab}, {"hidden", g->back()}},
             Phase::kBwdWeight);
}

// cross_entropy_loss(input [N, C, ...], target, ...): classes are dim 1 (PyTorch's convention).
std::optional<OpKey> CrossEntropy(const AtenCall& c, const AtenKeyOptions& o) {
  auto* x = Dims(c, 0, 1);
  if (!x) return std::nullopt;
  int64_t vocab = x->size() >= 2 ? (*x)[1] : (*x)[0];
  if (vocab <= 0) return std::nullopt;
  return Key(c, o, "cross_entropy", {{"tokens", Numel(*x) / vocab}, {"vocab", vocab}});
}

// _fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, ...).
std::optional<OpKey> FusedAdam(const AtenCall& c, const AtenKeyOptions& o) {
  if (c.inputs.empty() || c.inputs[0].list.empty()) return std::nullopt;
  int64_t params = 0;
  for (const auto& t : c.inputs[0].list) params += Numel(t);
  return Key(c, o, "adam", {{"params", params}}, Phase::kStep);
}

bool IsNormKind(std::string_view kind) { return kind == "layernorm" || kind == "rmsnorm" || kind == "batchnorm"; }

// Kernels that reduce a norm's weight gradients (PyTorch's GammaBetaBackward*, apex's
// cuComputePartGradGammaBeta / cuComputeGradGammaBeta, and the like).
bool IsWeightGradKernel(std::string_view kernel) {
  std::string k = Lower(kernel);
  return Contains(k, "gammabeta") || Contains(k, "gamma_beta") || Contains(k, "gradgamma") ||
         Contains(k, "weight_grad") || Contains(k, "wgrad");
}

Phase GemmBackwardPhase(const OpKey& fwd, const AtenCall* product, int product_index, const AtenCall* inner) {
  if (!product) {
    bool reduces = inner && (inner->name == "aten::sum" || inner->name == "aten::sum_");
    return reduces ? Phase::kBwdWeight : Phase::kBwdData;  // a bias gradient is a sum over rows
  }
  Phase by_order = product_index == 0 ? Phase::kBwdData : Phase::kBwdWeight;
  auto out = ProductOutputDims(*product);
  if (!out || out->empty()) return by_order;
  int64_t rows = Prod(out->begin(), out->end() - 1), cols = out->back();
  auto at = [&](const char* p) { return fwd.shape.count(p) ? fwd.shape.at(p) : -1; };
  int64_t m = at("m"), n = at("n"), k = at("k");
  bool dgrad = rows == m && cols == k;
  bool wgrad = (rows == k && cols == n) || (rows == n && cols == k);
  if (dgrad != wgrad) return dgrad ? Phase::kBwdData : Phase::kBwdWeight;
  return by_order;
}

}  // namespace

std::string_view KernelCategoryName(KernelCategory c) {
  switch (c) {
    case KernelCategory::kCompute: return "compute";
    case KernelCategory::kCommunication: return "communication";
    case KernelCategory::kCopy: return "copy";
  }
  return "compute";
}

KernelCategory ClassifyKernel(std::string_view activity_category, std::string_view kernel_name) {
  std::string cat = Lower(activity_category), name = Lower(kernel_name);
  if (cat == "gpu_memcpy" || cat == "gpu_memset" || StartsWith(name, "memcpy") || StartsWith(name, "memset"))
    return KernelCategory::kCopy;
  if (StartsWith(name, "nccl")) return KernelCategory::kCommunication;
  return KernelCategory::kCompute;
}

std::string CollectiveOfKernel(std::string_view kernel_name) {
  std::string n;
  for (char c : Lower(kernel_name))
    if (c != '_') n += c;
  // Longer names first: "allreduce" and "reducescatter" contain "reduce".
  static const std::vector<std::pair<std::string_view, std::string_view>> kNames = {
      {"allreduce", "all_reduce"}, {"allgather", "all_gather"}, {"reducescatter", "reduce_scatter"},
      {"alltoall", "alltoall"},    {"broadcast", "broadcast"},  {"sendrecv", "sendrecv"},
      {"send", "sendrecv"},        {"recv", "sendrecv"},        {"reduce", "reduce"}};
  for (const auto& [part, op] : kNames)
    if (Contains(n, part)) return std::string(op);
  return "";
}

std::optional<DType> DTypeOfTraceType(std::string_view type) {
  if (type == "c10::BFloat16") return DType::kBf16;
  if (type == "c10::Half") return DType::kFp16;
  if (type == "float") return DType::kFp32;
  if (StartsWith(type, "c10::Float8_e4m3")) return DType::kFp8E4M3;
  if (StartsWith(type, "c10::Float8_e5m2")) return DType::kFp8E5M2;
  return std::nullopt;
}

std::optional<OpKey> KeyForAtenCall(const AtenCall& c, const AtenKeyOptions& o) {
  const std::string& n = c.name;
  if (n == "aten::mm") return TwoDimProduct(c, o, 0, 1);
  if (n == "aten::addmm") return TwoDimProduct(c, o, 1, 2);
  if (n == "aten::linear") return Linear(c, o);
  if (n == "aten::matmul") return Matmul(c, o);
  if (n == "aten::bmm") return BatchedProduct(c, o, 0, 1);
  if (n == "aten::baddbmm") return BatchedProduct(c, o, 1, 2);
  for (const auto& sig : AttentionOps())
    if (!sig.backward && n == sig.name) return Attention(c, o, sig);
  if (n == "aten::layer_norm" || n == "aten::native_layer_norm") return Norm(c, o, "layernorm", 0, 1, 2, Phase::kFwd);
  if (n == "aten::rms_norm" || n == "aten::_fused_rms_norm") return Norm(c, o, "rmsnorm", 0, 1, 2, Phase::kFwd);
  if (n == "aten::softmax" || n == "aten::_softmax") return Softmax(c, o, Phase::kFwd, 1);
  if (n == "aten::gelu" || n == "aten::gelu_") return Gelu(c, o, Phase::kFwd, 1);
  if (n == "aten::relu" || n == "aten::relu_") return Relu(c, o, Phase::kFwd);
  if (n == "aten::dropout" || n == "aten::native_dropout") return Elementwise(c, o, "dropout", Phase::kFwd);
  if (n == "aten::add" || n == "aten::add_") return Elementwise(c, o, "add", Phase::kFwd);
  if (n == "aten::embedding") return Embedding(c, o);
  if (n == "aten::cross_entropy_loss") return CrossEntropy(c, o);
  if (n == "aten::_fused_adam_" || n == "aten::_fused_adamw_") return FusedAdam(c, o);
  return std::nullopt;
}

std::optional<OpKey> KeyForBackwardAtenCall(const AtenCall& c, const AtenKeyOptions& o, std::string_view kernel) {
  const std::string& n = c.name;
  for (const auto& sig : AttentionOps())
    if (sig.backward && n == sig.name) return Attention(c, o, sig);
  if (n == "aten::gelu_backward") return Gelu(c, o, Phase::kBwdData, 2);
  if (n == "aten::threshold_backward") return Relu(c, o, Phase::kBwdData);
  if (n == "aten::native_dropout_backward") return Elementwise(c, o, "dropout", Phase::kBwdData);
  if (n == "aten::_softmax_backward_data") return Softmax(c, o, Phase::kBwdData, 2);
  if (n == "aten::embedding_dense_backward") return EmbeddingBackward(c, o);
  if (n == "aten::native_layer_norm_backward")
    return Norm(c, o, "layernorm", 1, 2, 5, IsWeightGradKernel(kernel) ? Phase::kBwdWeight : Phase::kBwdData);
  return std::nullopt;
}

bool IsBackwardNode(std::string_view op_name) {
  if (StartsWith(op_name, "autograd::engine::evaluate_function:")) return true;
  if (Contains(op_name, "::")) return false;  // aten::gelu_backward is an op, not a node
  size_t end = op_name.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(op_name[end - 1]))) --end;
  return end >= 8 && op_name.substr(end - 8, 8) == "Backward";
}

bool IsProductOp(std::string_view n) {
  return n == "aten::mm" || n == "aten::addmm" || n == "aten::bmm" || n == "aten::baddbmm" || n == "aten::matmul";
}

std::optional<std::vector<int64_t>> ProductOutputDims(const AtenCall& c) {
  bool shifted = c.name == "aten::addmm" || c.name == "aten::baddbmm";  // input 0 is the added term
  auto* x = Dims(c, shifted ? 1 : 0, 2);
  auto* y = Dims(c, shifted ? 2 : 1, 2);
  if (!x || !y) return std::nullopt;
  std::vector<int64_t> out(x->begin(), x->end() - 1);  // leading dims and the rows of A
  if (y->size() > 2 && x->size() == 2) out.insert(out.begin(), y->begin(), y->end() - 2);
  out.push_back(y->back());
  return out;
}

Phase BackwardPhase(const OpKey& forward, const AtenCall* product, int product_index, const AtenCall* inner,
                    std::string_view kernel) {
  if (forward.kind == "embedding") return Phase::kBwdWeight;  // token ids have no gradient
  if (IsNormKind(forward.kind)) return IsWeightGradKernel(kernel) ? Phase::kBwdWeight : Phase::kBwdData;
  if (forward.kind == "gemm") return GemmBackwardPhase(forward, product, product_index, inner);
  return Phase::kBwdData;  // bgemm of two activations, attention, elementwise: gradients of inputs
}

}  // namespace proteus
