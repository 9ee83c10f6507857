#include "simulator/model/moe.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "common/error.h"
#include "simulator/model/op_builders.h"

namespace proteus {
namespace {

using Axes = std::vector<std::string>;
const Axes kTokH = {"b", "s", "h"};
const Axes kRoutedH = {"b", "x", "h"};  // x: the dispatched token slots of the busiest expert rank

struct Build {
  const MoeConfig& moe;
  const MoeShape& shape;
  const std::string& path;
  int64_t routed_tokens;  // x per sample
  // Model FLOPs per point of a routed GEMM: 2 * (s*k) / x, so ForwardFlops counts s*k tokens.
  double routed_fpp;
};

std::string Path(const Build& b, const std::string& name) { return b.path + "." + name; }

std::vector<Dim> Tok(const Build& b, std::vector<Dim> more) {
  std::vector<Dim> d = {BatchDim("b", 1), BatchDim("s", b.shape.seq_len)};
  for (auto& m : more) d.push_back(std::move(m));
  return d;
}

std::vector<Dim> Routed(const Build& b, std::vector<Dim> more) {
  std::vector<Dim> d = {BatchDim("b", 1), BatchDim("x", b.routed_tokens)};
  for (auto& m : more) d.push_back(std::move(m));
  return d;
}

// Router GEMM [b, s, h] x [h, e] -> logits. Replicated over tensor parallelism (Megatron-Core's
// TopKRouter weight is not split), so no "tp" hint.
Operator Router(const Build& b, const std::string& in) {
  DType dt = b.shape.dtype;
  auto input = InputOf(in, kTokH, dt);
  Operator op = MakeOp("router", OpKind::kLinear, dt,
                       Tok(b, {ReduceDim("h", b.shape.hidden), SpatialDim("e", b.moe.num_experts)}),
                       {input, WeightOf(Path(b, "router.weight"), {"h", "e"}, dt),
                        OutputOf(OutName(Path(b, "router")), {"b", "s", "e"}, dt)},
                       2.0);
  op.saved = {Keep(input)};
  return op;
}

// Top-k selection and softmax / sigmoid over the E logits of each token: a row op over e. Keeps
// the fp32 probabilities (Megatron-Core computes router scores in fp32).
Operator Scores(const Build& b, const std::string& logits) {
  DType dt = b.shape.dtype;
  Operator op = MakeOp("scores", OpKind::kSoftmax, dt, Tok(b, {OpaqueDim("e", b.moe.num_experts)}),
                       {InputOf(logits, {"b", "s", "e"}, dt), OutputOf(OutName(Path(b, "scores")), {"b", "s", "e"}, dt)},
                       0.0);
  op.saved = {KeepAs(Path(b, "scores.probs"), {"b", "s", "e"}, 4)};
  op.attrs = {{"fn", "topk_" + std::string(RouterScoreName(b.moe.score))}, {"top_k", std::to_string(b.moe.top_k)}};
  return op;
}

// Permute (dispatch): each token copied to its k expert slots, [b, s, h] -> [b, x, h]. Priced as
// an element-wise copy of the x*h written elements; s only sizes the input (extent-only).
Operator Permute(const Build& b, const std::string& in) {
  DType dt = b.shape.dtype;
  Operator op = MakeOp("permute", OpKind::kAdd, dt,
                       Routed(b, {BatchDim("h", b.shape.hidden), ExtentDim("s", b.shape.seq_len)}),
                       {InputOf(in, kTokH, dt), OutputOf(OutName(Path(b, "permute")), kRoutedH, dt)}, 0.0);
  op.attrs = {{"fn", "moe_permute"}, {"moe_dispatch", "1"}};
  return op;
}

// Unpermute (combine): the k expert outputs of each token weighted by its scores and summed,
// [b, x, h] -> [b, s, h]. Keeps the expert outputs for the scores' gradient.
Operator Unpermute(const Build& b, const std::string& in, const std::string& scores) {
  DType dt = b.shape.dtype;
  auto input = InputOf(in, kRoutedH, dt);
  Operator op = MakeOp("unpermute", OpKind::kAdd, dt,
                       Routed(b, {BatchDim("h", b.shape.hidden), ExtentDim("s", b.shape.seq_len),
                                  ExtentDim("e", b.moe.num_experts)}),
                       {input, InputOf(scores, {"b", "s", "e"}, dt),
                        OutputOf(OutName(Path(b, "unpermute")), kTokH, dt)},
                       0.0);
  op.saved = {Keep(input)};
  op.attrs = {{"fn", "moe_unpermute"}, {"moe_combine", "1"}};
  return op;
}

// SwiGLU expert MLP over `tokens` axes (routed: [b, x, h] with weights [e, ...]; shared: [b, s, h]
// with weights of width S*F_s). fc1 is column-parallel and fc2 row-parallel over tensor
// parallelism, as Megatron-Core's experts with expert tensor parallelism = tensor parallelism.
std::vector<Operator> ExpertMlp(const Build& b, const std::string& prefix, const std::string& in, bool routed,
                                int64_t width) {
  DType dt = b.shape.dtype;
  const std::string tok = routed ? "x" : "s";
  Axes io = {"b", tok, "h"};
  auto dims = [&](std::vector<Dim> more) {
    if (routed) more.push_back(ExtentDim("e", b.moe.num_experts));
    return routed ? Routed(b, std::move(more)) : Tok(b, std::move(more));
  };
  auto weight = [&](const std::string& name, Axes axes) {
    if (routed) axes.insert(axes.begin(), "e");
    return WeightOf(Path(b, prefix + name + ".weight"), std::move(axes), dt);
  };
  auto mark = [&](Operator& op) {
    op.attrs["tp"] = "f";
    if (!routed) return;
    op.attrs[kRoutedExpertAttr] = std::to_string(b.moe.num_experts);
    op.attrs["top_k"] = std::to_string(b.moe.top_k);
    op.flops_per_point *= b.routed_fpp / 2.0;
    op.hw_flops_per_point = op.flops_per_point > 0 ? 2.0 : -1;
  };
  std::vector<Operator> ops;
  auto in1 = InputOf(in, io, dt);
  Axes fc1_out = {"b", tok, "c", "f"};
  Operator fc1 = MakeOp(prefix + "fc1", OpKind::kLinear, dt,
                        dims({ReduceDim("h", b.shape.hidden), SpatialDim("c", 2), SpatialDim("f", width)}),
                        {in1, weight("fc1", {"h", "c", "f"}), OutputOf(OutName(Path(b, prefix + "fc1")), fc1_out, dt)},
                        2.0);
  fc1.saved = {Keep(in1)};
  mark(fc1);
  ops.push_back(std::move(fc1));

  auto act_in = InputOf(OutName(Path(b, prefix + "fc1")), fc1_out, dt);
  Operator act = MakeOp(prefix + "act", OpKind::kSwiglu, dt, dims({BatchDim("f", width), ExtentDim("c", 2)}),
                        {act_in, OutputOf(OutName(Path(b, prefix + "act")), {"b", tok, "f"}, dt)}, 0.0);
  act.saved = {Keep(act_in)};
  act.attrs["tp"] = "f";
  ops.push_back(std::move(act));

  auto in2 = InputOf(OutName(Path(b, prefix + "act")), {"b", tok, "f"}, dt);
  Operator fc2 = MakeOp(prefix + "fc2", OpKind::kLinear, dt,
                        dims({ReduceDim("f", width), SpatialDim("h", b.shape.hidden)}),
                        {in2, weight("fc2", {"f", "h"}), OutputOf(OutName(Path(b, prefix + "fc2")), io, dt)}, 2.0);
  fc2.saved = {Keep(in2)};
  mark(fc2);
  ops.push_back(std::move(fc2));
  return ops;
}

void CheckPositive(const std::string& origin, const char* field, int64_t v, bool zero_ok) {
  if (v < 0 || (v == 0 && !zero_ok))
    throw UserError(origin + ": moe." + field, "must be a positive integer, got " + std::to_string(v));
}

}  // namespace

std::string_view RouterScoreName(RouterScore s) { return s == RouterScore::kSigmoid ? "sigmoid" : "softmax"; }

double MoeConfig::LoadFactor() const {
  return capacity_factor > 0 ? std::min(load_skew, capacity_factor) : load_skew;
}

void ValidateMoeConfig(const MoeConfig& m, int64_t num_layers, const std::string& origin) {
  if (!m.enabled()) {
    if (m.num_experts < 0) CheckPositive(origin, "num_experts", m.num_experts, true);
    return;
  }
  // Bounds far beyond published models (DeepSeek-V3: 256 experts, top 8) keep builds bounded.
  constexpr int64_t kMaxExperts = 1 << 14, kMaxWidth = int64_t{1} << 20;
  if (m.num_experts > kMaxExperts)
    throw UserError(origin + ": moe.num_experts", "must be at most " + std::to_string(kMaxExperts));
  if (m.top_k < 1 || m.top_k > m.num_experts)
    throw UserError(origin + ": moe.top_k", "must be between 1 and num_experts (" + std::to_string(m.num_experts) +
                                                "), got " + std::to_string(m.top_k));
  CheckPositive(origin, "expert_ffn", m.expert_ffn, true);
  CheckPositive(origin, "num_shared_experts", m.num_shared_experts, true);
  CheckPositive(origin, "shared_ffn", m.shared_ffn, true);
  CheckPositive(origin, "first_dense_layers", m.first_dense_layers, true);
  CheckPositive(origin, "sparse_step", m.sparse_step, false);
  if (m.expert_ffn > kMaxWidth || m.shared_ffn * std::max<int64_t>(1, m.num_shared_experts) > kMaxWidth)
    throw UserError(origin + ": moe.expert_ffn", "must be at most " + std::to_string(kMaxWidth));
  if (m.first_dense_layers >= num_layers)
    throw UserError(origin + ": moe.first_dense_layers", "leaves no MoE layer (the model has " +
                                                             std::to_string(num_layers) + " layers)");
  if (!(m.load_skew >= 1.0) || !std::isfinite(m.load_skew) || m.load_skew > static_cast<double>(m.num_experts))
    throw UserError(origin + ": moe_load_skew", "must be between 1 (uniform routing) and num_experts (every token "
                                                "on the busiest expert), got " + std::to_string(m.load_skew));
  if (m.capacity_factor != 0 && (!(m.capacity_factor >= 1.0) || !std::isfinite(m.capacity_factor)))
    throw UserError(origin + ": moe_capacity_factor", "must be 0 (dropless) or at least 1, got " +
                                                          std::to_string(m.capacity_factor));
}

std::vector<Operator> MoeOps(const MoeConfig& moe, const MoeShape& shape, const std::string& path,
                             const std::string& in, std::vector<std::string>* outs) {
  PROTEUS_CHECK(moe.enabled() && shape.expert_ffn > 0, "MoeOps needs experts and a resolved expert width");
  double uniform = static_cast<double>(shape.seq_len) * static_cast<double>(moe.top_k);
  auto routed = static_cast<int64_t>(std::ceil(uniform * moe.LoadFactor() - 1e-9));
  Build b{moe, shape, path, routed, 2.0 * uniform / static_cast<double>(routed)};
  std::vector<Operator> ops;
  ops.push_back(Router(b, in));
  ops.push_back(Scores(b, OutName(Path(b, "router"))));
  ops.push_back(Permute(b, in));
  for (auto& op : ExpertMlp(b, "", OutName(Path(b, "permute")), true, shape.expert_ffn)) ops.push_back(std::move(op));
  ops.push_back(Unpermute(b, OutName(Path(b, "fc2")), OutName(Path(b, "scores"))));
  outs->assign({OutName(Path(b, "unpermute"))});
  if (moe.num_shared_experts > 0) {
    int64_t width = moe.num_shared_experts * shape.shared_ffn;
    for (auto& op : ExpertMlp(b, "shared_", in, false, width)) ops.push_back(std::move(op));
    outs->push_back(OutName(Path(b, "shared_fc2")));
  }
  return ops;
}

bool IsRoutedExpertOp(const Operator& op) { return op.attrs.count(kRoutedExpertAttr) > 0; }

int64_t ActiveParams(const Module& root) {
  // Tied weights count once (Module::Params); routed expert weights are never shared.
  int64_t total = root.Params();
  VisitOps(root, [&](const std::string&, const Operator& op) {
    if (!IsRoutedExpertOp(op)) return;
    int64_t experts = std::stoll(op.attrs.at(kRoutedExpertAttr));
    int64_t top_k = std::stoll(op.attrs.at("top_k"));
    int64_t w = op.WeightParams();
    total -= w - w / experts * top_k;
  });
  return total;
}

}  // namespace proteus
