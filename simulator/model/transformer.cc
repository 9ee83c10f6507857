#include "simulator/model/transformer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/error.h"
#include "simulator/model/op_builders.h"

namespace proteus {
namespace {

using Axes = std::vector<std::string>;
const Axes kTok = {"b", "s"};
const Axes kTokH = {"b", "s", "h"};

// Shared sizes while building one model. `stream` is the name of the residual-stream tensor the
// next block reads.
struct Ctx {
  const TransformerConfig& c;
  int64_t heads, groups, per_group, head_dim, ffn;
  DType dt;
  std::string stream;
};

std::vector<Dim> TokDims(const Ctx& x) { return {BatchDim("b", 1), BatchDim("s", x.c.seq_len)}; }

std::vector<Dim> TokDimsWith(const Ctx& x, std::vector<Dim> more) {
  auto dims = TokDims(x);
  for (auto& d : more) dims.push_back(std::move(d));
  return dims;
}

// LayerNorm (GPT, BERT: weight and bias, fp32 mean and rstd kept) or RMSNorm (Llama: weight, fp32
// rstd kept) over h. Keeps its input: Korthikanti's 2sbh per norm.
Operator Norm(const Ctx& x, const std::string& path, const std::string& in) {
  bool rms = x.c.style == BlockStyle::kLlama;
  auto input = InputOf(in, kTokH, x.dt);
  std::vector<TensorUse> t = {input, WeightOf(path + ".weight", {"h"}, x.dt)};
  if (!rms) t.push_back(WeightOf(path + ".bias", {"h"}, x.dt));
  t.push_back(OutputOf(OutName(path), kTokH, x.dt));
  Operator op = MakeOp("norm", rms ? OpKind::kRmsNorm : OpKind::kLayerNorm, x.dt,
                       TokDimsWith(x, {OpaqueDim("h", x.c.hidden)}), std::move(t), 0.0);
  op.saved = {Keep(input), KeepAs(path + ".stats", kTok, rms ? 4 : 8)};
  op.attrs["sp"] = "s";
  return op;
}

// Dropout over [b, s, h]; keeps a one-byte mask per element.
Operator Dropout(const Ctx& x, const std::string& path, const std::string& name, const std::string& in) {
  Operator op = MakeOp(name, OpKind::kDropout, x.dt,
                       TokDimsWith(x, {BatchDim("h", x.c.hidden)}),
                       {InputOf(in, kTokH, x.dt), OutputOf(OutName(path), kTokH, x.dt)}, 0.0);
  op.saved = {KeepAs(path + ".mask", kTokH, 1)};
  op.attrs["sp"] = "s";
  return op;
}

Operator ResidualAdd(const Ctx& x, const std::string& path, const std::string& a, const std::string& b) {
  Operator op = MakeOp("residual", OpKind::kAdd, x.dt, TokDimsWith(x, {BatchDim("h", x.c.hidden)}),
                       {InputOf(a, kTokH, x.dt), InputOf(b, kTokH, x.dt),
                        OutputOf(OutName(path), kTokH, x.dt)}, 0.0);
  op.attrs["sp"] = "s";
  return op;
}

// Fused q/k/v projection. Output features are laid out [g, c, d] as Megatron does: per kv group,
// its per_group query heads then one k and one v head, so TP splits whole groups (dim g).
Operator Qkv(const Ctx& x, const std::string& path, const std::string& in) {
  int64_t slots = x.per_group + 2;
  auto input = InputOf(in, kTokH, x.dt);
  std::vector<TensorUse> t = {input, WeightOf(path + ".weight", {"h", "g", "c", "d"}, x.dt)};
  if (x.c.bias) t.push_back(WeightOf(path + ".bias", {"g", "c", "d"}, x.dt));
  t.push_back(OutputOf(OutName(path), {"b", "s", "g", "c", "d"}, x.dt));
  Operator op = MakeOp("qkv", OpKind::kLinear, x.dt,
                       TokDimsWith(x, {ReduceDim("h", x.c.hidden), SpatialDim("g", x.groups),
                                       SpatialDim("c", slots), SpatialDim("d", x.head_dim)}),
                       std::move(t), 2.0);
  op.saved = {Keep(input)};
  op.attrs["tp"] = "g";
  return op;
}

// Rotary embedding of the q and k slots (per_group + 1 of the c slots); nothing kept: its
// backward is the inverse rotation.
Operator Rope(const Ctx& x, const std::string& path, const std::string& in) {
  Axes packed = {"b", "s", "g", "c", "d"};
  Operator op = MakeOp("rope", OpKind::kRope, x.dt,
                       TokDimsWith(x, {BatchDim("g", x.groups), BatchDim("e", x.per_group + 1),
                                       OpaqueDim("d", x.head_dim), ExtentDim("c", x.per_group + 2)}),
                       {InputOf(in, packed, x.dt), OutputOf(OutName(path), packed, x.dt)}, 0.0);
  op.attrs["tp"] = "g";
  return op;
}

std::vector<Dim> HeadDims(const Ctx& x) {
  return {BatchDim("b", 1), BatchDim("g", x.groups), BatchDim("r", x.per_group)};
}

// FlashAttention-style core: keeps q, k, v (its packed input), its output and the fp32 softmax
// log-sum-exp per head and query; the s^2 probabilities are recomputed in backward.
Operator FusedAttention(const Ctx& x, const std::string& path, const std::string& in) {
  auto input = InputOf(in, {"b", "s", "g", "c", "d"}, x.dt);
  auto output = OutputOf(OutName(path), {"b", "s", "g", "r", "d"}, x.dt);
  Operator op = MakeOp("core", OpKind::kAttention, x.dt,
                       {BatchDim("b", 1), BatchDim("s", x.c.seq_len), OpaqueDim("t", x.c.seq_len),
                        BatchDim("g", x.groups), BatchDim("r", x.per_group), OpaqueDim("d", x.head_dim),
                        ExtentDim("c", x.per_group + 2)},
                       {input, output}, 4.0);
  op.saved = {Keep(input), Keep(output), KeepAs(path + ".lse", {"b", "g", "r", "s"}, 4)};
  op.attrs = {{"tp", "g"}, {"fused", "1"}, {"causal", x.c.causal ? "1" : "0"}};
  return op;
}

// Unfused core as Megatron-LM without flash attention: scores = QK^T, scaled masked softmax,
// dropout, context = P V. Keeps Q, K (4sbh), softmax output (2as^2b), mask (as^2b), dropped
// probabilities (2as^2b) and V (2sbh): Korthikanti's 5as^2b term.
std::vector<Operator> UnfusedAttention(const Ctx& x, const std::string& a, const std::string& in,
                                       std::string* out) {
  const Axes probs = {"b", "g", "r", "s", "t"};
  int64_t bpe = DTypeBytes(x.dt);
  auto dims = [&](DimKind t_kind, DimKind d_kind) {
    auto d = HeadDims(x);
    d.push_back(BatchDim("s", x.c.seq_len));
    d.push_back(Dim{"t", t_kind, x.c.seq_len});
    d.push_back(Dim{"d", d_kind, x.head_dim});
    d.push_back(ExtentDim("c", x.per_group + 2));
    return d;
  };
  std::vector<Operator> ops;
  Operator scores = MakeOp("scores", OpKind::kBatchedMatmul, x.dt, dims(DimKind::kSpatial, DimKind::kReduce),
                           {InputOf(in, {"b", "s", "g", "c", "d"}, x.dt),
                            OutputOf(OutName(a + ".scores"), probs, x.dt)}, 2.0);
  scores.saved = {KeepAs(in + "#q", {"b", "s", "g", "r", "d"}, bpe), KeepAs(in + "#k", {"b", "t", "g", "d"}, bpe)};
  scores.attrs = {{"tp", "g"}, {"batch", "b,g,r"}, {"m", "s"}, {"n", "t"}, {"k", "d"}};
  ops.push_back(std::move(scores));

  auto p_dims = HeadDims(x);
  p_dims.push_back(BatchDim("s", x.c.seq_len));
  p_dims.push_back(OpaqueDim("t", x.c.seq_len));
  Operator softmax = MakeOp("softmax", OpKind::kSoftmax, x.dt, p_dims,
                            {InputOf(OutName(a + ".scores"), probs, x.dt),
                             OutputOf(OutName(a + ".softmax"), probs, x.dt)}, 0.0);
  softmax.saved = {Keep(softmax.tensors[1])};
  softmax.attrs = {{"tp", "g"}, {"causal", x.c.causal ? "1" : "0"}, {"scale_mask_fused", "1"}};
  ops.push_back(std::move(softmax));
  std::string p = OutName(a + ".softmax");
  if (x.c.dropout) {
    p_dims.back().kind = DimKind::kBatch;
    Operator drop = MakeOp("attn_dropout", OpKind::kDropout, x.dt, p_dims,
                           {InputOf(p, probs, x.dt), OutputOf(OutName(a + ".attn_dropout"), probs, x.dt)}, 0.0);
    drop.saved = {KeepAs(a + ".attn_dropout.mask", probs, 1)};
    drop.attrs["tp"] = "g";
    ops.push_back(std::move(drop));
    p = OutName(a + ".attn_dropout");
  }
  auto p_in = InputOf(p, probs, x.dt);
  Operator context = MakeOp("context", OpKind::kBatchedMatmul, x.dt, dims(DimKind::kReduce, DimKind::kSpatial),
                            {p_in, InputOf(in, {"b", "t", "g", "c", "d"}, x.dt),
                             OutputOf(OutName(a + ".context"), {"b", "s", "g", "r", "d"}, x.dt)}, 2.0);
  context.saved = {Keep(p_in), KeepAs(in + "#v", {"b", "t", "g", "d"}, bpe)};
  context.attrs = {{"tp", "g"}, {"batch", "b,g,r"}, {"m", "s"}, {"n", "d"}, {"k", "t"}};
  ops.push_back(std::move(context));
  *out = OutName(a + ".context");
  return ops;
}

// Row-parallel output projection: reduce dims g, r, d (TP splits g).
Operator Proj(const Ctx& x, const std::string& path, const std::string& in) {
  auto input = InputOf(in, {"b", "s", "g", "r", "d"}, x.dt);
  std::vector<TensorUse> t = {input, WeightOf(path + ".weight", {"g", "r", "d", "f"}, x.dt)};
  if (x.c.bias) t.push_back(WeightOf(path + ".bias", {"f"}, x.dt));
  t.push_back(OutputOf(OutName(path), {"b", "s", "f"}, x.dt));
  Operator op = MakeOp("proj", OpKind::kLinear, x.dt,
                       TokDimsWith(x, {ReduceDim("g", x.groups), ReduceDim("r", x.per_group),
                                       ReduceDim("d", x.head_dim), SpatialDim("f", x.c.hidden)}),
                       std::move(t), 2.0);
  op.saved = {Keep(input)};
  op.attrs["tp"] = "g";
  return op;
}

// Adds `op` to `m` and returns the name of its (last) output tensor.
std::string Add(Module& m, Operator op) {
  std::string out;
  for (const auto& t : op.tensors)
    if (t.role == TensorRole::kOutput) out = t.name;
  m.ops.push_back(std::move(op));
  return out;
}

Module AttentionBlock(Ctx& x, const std::string& a) {
  Module m{"attn", "attention", {}, {}};
  bool post_ln = x.c.style == BlockStyle::kBert;
  std::string h = x.stream;
  if (!post_ln) h = Add(m, Norm(x, a + ".norm", h));
  h = Add(m, Qkv(x, a + ".qkv", h));
  if (x.c.style == BlockStyle::kLlama) h = Add(m, Rope(x, a + ".rope", h));
  if (x.c.fused_attention) {
    h = Add(m, FusedAttention(x, a + ".core", h));
  } else {
    for (auto& op : UnfusedAttention(x, a, h, &h)) m.ops.push_back(std::move(op));
  }
  h = Add(m, Proj(x, a + ".proj", h));
  if (x.c.dropout) h = Add(m, Dropout(x, a + ".dropout", "dropout", h));
  h = Add(m, ResidualAdd(x, a + ".residual", x.stream, h));
  if (post_ln) h = Add(m, Norm(x, a + ".norm", h));
  x.stream = h;
  return m;
}

// Column-parallel fc1 (GPT: [h -> f]; Llama: gate and up fused, [h -> c=2, f]), activation,
// row-parallel fc2. Keeps fc1's input, the activation's input and fc2's input (Korthikanti's
// 2sbh + 8sbh + 8sbh for F = 4h).
Module MlpBlock(Ctx& x, const std::string& p) {
  Module m{"mlp", "mlp", {}, {}};
  bool post_ln = x.c.style == BlockStyle::kBert;
  bool swiglu = x.c.style == BlockStyle::kLlama;
  std::string h = x.stream;
  if (!post_ln) h = Add(m, Norm(x, p + ".norm", h));

  Axes fc1_out = swiglu ? Axes{"b", "s", "c", "f"} : Axes{"b", "s", "f"};
  Axes fc1_w = swiglu ? Axes{"h", "c", "f"} : Axes{"h", "f"};
  auto in1 = InputOf(h, kTokH, x.dt);
  std::vector<TensorUse> t1 = {in1, WeightOf(p + ".fc1.weight", fc1_w, x.dt)};
  if (x.c.bias) t1.push_back(WeightOf(p + ".fc1.bias", {"f"}, x.dt));
  t1.push_back(OutputOf(OutName(p + ".fc1"), fc1_out, x.dt));
  std::vector<Dim> d1 = TokDimsWith(x, {ReduceDim("h", x.c.hidden)});
  if (swiglu) d1.push_back(SpatialDim("c", 2));
  d1.push_back(SpatialDim("f", x.ffn));
  Operator fc1 = MakeOp("fc1", OpKind::kLinear, x.dt, d1, std::move(t1), 2.0);
  fc1.saved = {Keep(in1)};
  fc1.attrs["tp"] = "f";
  h = Add(m, std::move(fc1));

  auto act_in = InputOf(h, fc1_out, x.dt);
  std::vector<Dim> da = TokDimsWith(x, {BatchDim("f", x.ffn)});
  if (swiglu) da.push_back(ExtentDim("c", 2));
  Operator act = MakeOp("act", swiglu ? OpKind::kSwiglu : OpKind::kGelu, x.dt, da,
                        {act_in, OutputOf(OutName(p + ".act"), {"b", "s", "f"}, x.dt)}, 0.0);
  act.saved = {Keep(act_in)};
  act.attrs["tp"] = "f";
  h = Add(m, std::move(act));

  auto in2 = InputOf(h, {"b", "s", "f"}, x.dt);
  std::vector<TensorUse> t2 = {in2, WeightOf(p + ".fc2.weight", {"f", "h"}, x.dt)};
  if (x.c.bias) t2.push_back(WeightOf(p + ".fc2.bias", {"h"}, x.dt));
  t2.push_back(OutputOf(OutName(p + ".fc2"), kTokH, x.dt));
  Operator fc2 = MakeOp("fc2", OpKind::kLinear, x.dt,
                        TokDimsWith(x, {ReduceDim("f", x.ffn), SpatialDim("h", x.c.hidden)}),
                        std::move(t2), 2.0);
  fc2.saved = {Keep(in2)};
  fc2.attrs["tp"] = "f";
  h = Add(m, std::move(fc2));

  if (x.c.dropout) h = Add(m, Dropout(x, p + ".dropout", "dropout", h));
  h = Add(m, ResidualAdd(x, p + ".residual", x.stream, h));
  if (post_ln) h = Add(m, Norm(x, p + ".norm", h));
  x.stream = h;
  return m;
}

// Mixture-of-experts block (moe.h): norm, the routed and shared experts, one add of the residual
// stream, the combined routed output and the shared output. Type "moe", named "mlp" like the dense
// block it replaces so strategy paths ("layers.*.mlp") keep matching.
Module MoeBlock(Ctx& x, const std::string& p) {
  Module m{"mlp", "moe", {}, {}};
  std::string h = Add(m, Norm(x, p + ".norm", x.stream));
  MoeShape shape{x.c.hidden, x.c.seq_len, x.c.moe.expert_ffn, x.c.moe.shared_ffn, x.dt};
  std::vector<std::string> outs;
  for (auto& op : MoeOps(x.c.moe, shape, p, h, &outs)) m.ops.push_back(std::move(op));
  std::vector<TensorUse> t = {InputOf(x.stream, kTokH, x.dt)};
  for (const auto& o : outs) t.push_back(InputOf(o, kTokH, x.dt));
  t.push_back(OutputOf(OutName(p + ".residual"), kTokH, x.dt));
  Operator add = MakeOp("residual", OpKind::kAdd, x.dt, TokDimsWith(x, {BatchDim("h", x.c.hidden)}), std::move(t), 0.0);
  add.attrs["sp"] = "s";
  x.stream = Add(m, std::move(add));
  return m;
}

// A learned-table lookup: [b, s] ids -> [b, s, h]. The table's row dim is a reduce dim: a
// vocab-parallel lookup leaves partial sums (zeros outside a rank's rows) that are all-reduced.
// Keeps the ids (int64) for the weight gradient's scatter-add.
Operator Lookup(const Ctx& x, const std::string& path, const std::string& name, const std::string& ids,
                const std::string& row_dim, int64_t rows) {
  auto id_in = ModelInput(ids, kTok, DType::kInt64);
  Operator op = MakeOp(name, OpKind::kEmbedding, x.dt,
                       TokDimsWith(x, {ReduceDim(row_dim, rows), SpatialDim("h", x.c.hidden)}),
                       {id_in, WeightOf(path + ".weight", {row_dim, "h"}, x.dt),
                        OutputOf(OutName(path), kTokH, x.dt)}, 0.0);
  op.saved = {Keep(id_in)};
  return op;
}

Module Embedding(Ctx& x) {
  Module m{"embed", "embedding", {}, {}};
  Operator word = Lookup(x, "embed.word", "word", "input.tokens", "v", x.c.PaddedVocab());
  word.attrs["tp"] = "v";
  std::vector<std::string> parts = {Add(m, std::move(word))};
  if (x.c.style != BlockStyle::kLlama) {
    // Megatron keeps the position table replicated (no TP hint).
    parts.push_back(Add(m, Lookup(x, "embed.pos", "pos", "input.positions", "p", x.c.max_positions)));
    if (x.c.style == BlockStyle::kBert)
      parts.push_back(Add(m, Lookup(x, "embed.type", "type", "input.token_types", "y", x.c.type_vocab)));
    std::vector<TensorUse> t;
    for (const auto& in : parts) t.push_back(InputOf(in, kTokH, x.dt));
    t.push_back(OutputOf(OutName("embed.add"), kTokH, x.dt));
    Operator add = MakeOp("add", OpKind::kAdd, x.dt, TokDimsWith(x, {BatchDim("h", x.c.hidden)}), t, 0.0);
    add.attrs["sp"] = "s";
    parts = {Add(m, std::move(add))};
    if (x.c.style == BlockStyle::kBert) parts = {Add(m, Norm(x, "embed.norm", parts[0]))};
    if (x.c.dropout) parts = {Add(m, Dropout(x, "embed.dropout", "dropout", parts[0]))};
  }
  x.stream = parts[0];
  return m;
}

// Linear over tokens: [b, s, in] -> [b, s, out] with optional bias; keeps its input.
Operator TokenLinear(const Ctx& x, const std::string& path, const std::string& name, const std::string& in,
                     int64_t in_size, int64_t out_size, const std::string& out_dim,
                     const std::string& weight, bool bias) {
  auto input = InputOf(in, kTokH, x.dt);
  std::vector<TensorUse> t = {input, WeightOf(weight, {out_dim, "h"}, x.dt)};
  if (bias) t.push_back(WeightOf(path + ".bias", {out_dim}, x.dt));
  t.push_back(OutputOf(OutName(path), {"b", "s", out_dim}, x.dt));
  Operator op = MakeOp(name, OpKind::kLinear, x.dt,
                       TokDimsWith(x, {ReduceDim("h", in_size), SpatialDim(out_dim, out_size)}), std::move(t), 2.0);
  op.saved = {Keep(input)};
  return op;
}

// Softmax cross-entropy in fp32 (Megatron casts the logits to fp32): keeps the fp32 softmax.
Operator CrossEntropy(const Ctx& x, const std::string& path, const std::string& name,
                      const std::string& logits, const std::string& labels, std::vector<Dim> dims,
                      const Axes& rows, int64_t classes) {
  Axes la = rows;
  la.push_back("v");
  dims.push_back(ReduceDim("v", classes));
  Operator op = MakeOp(name, OpKind::kCrossEntropy, DType::kFp32, std::move(dims),
                       {InputOf(logits, la, x.dt), ModelInput(labels, rows, DType::kInt64),
                        OutputOf(OutName(path), rows, DType::kFp32)}, 0.0);
  op.saved = {KeepAs(path + ".softmax", la, 4)};
  return op;
}

// GPT / Llama: final norm, logits, loss.
std::vector<Module> DecoderHead(Ctx& x) {
  Module norm{"final_norm", "norm", {}, {}};
  std::string h = Add(norm, Norm(x, "final_norm.norm", x.stream));
  Module head{"lm_head", "lm_head", {}, {}};
  std::string w = x.c.tied_embeddings ? "embed.word.weight" : "lm_head.logits.weight";
  Operator logits = TokenLinear(x, "lm_head.logits", "logits", h, x.c.hidden, x.c.PaddedVocab(), "v", w, false);
  logits.attrs["tp"] = "v";
  h = Add(head, std::move(logits));
  Module loss{"loss", "loss", {}, {}};
  Operator ce = CrossEntropy(x, "loss.cross_entropy", "cross_entropy", h, "input.labels", TokDims(x), kTok, x.c.PaddedVocab());
  ce.attrs["tp"] = "v";
  Add(loss, std::move(ce));
  return {std::move(norm), std::move(head), std::move(loss)};
}

// BERT pre-training heads: MLM (transform, GeLU, LayerNorm, tied decoder with bias) over every
// token, and NSP (pooler on the first token, tanh, 2-way classifier).
std::vector<Module> BertHeads(Ctx& x) {
  Module head{"lm_head", "lm_head", {}, {}};
  std::string h = Add(head, TokenLinear(x, "lm_head.transform", "transform", x.stream, x.c.hidden,
                                        x.c.hidden, "f", "lm_head.transform.weight", true));
  Operator act = MakeOp("act", OpKind::kGelu, x.dt, TokDimsWith(x, {BatchDim("h", x.c.hidden)}),
                        {InputOf(h, {"b", "s", "h"}, x.dt), OutputOf(OutName("lm_head.act"), kTokH, x.dt)}, 0.0);
  act.saved = {Keep(act.tensors[0])};
  h = Add(head, std::move(act));
  h = Add(head, Norm(x, "lm_head.norm", h));
  Operator logits = TokenLinear(x, "lm_head.logits", "logits", h, x.c.hidden, x.c.PaddedVocab(), "v",
                                x.c.tied_embeddings ? "embed.word.weight" : "lm_head.logits.weight", true);
  logits.attrs["tp"] = "v";
  std::string mlm = Add(head, std::move(logits));

  Module pooler{"pooler", "pooler", {}, {}};
  auto first = InputOf(x.stream, kTokH, x.dt);  // reads position 0 only: s is extent-only here
  Operator dense = MakeOp("dense", OpKind::kLinear, x.dt,
                          {BatchDim("b", 1), ExtentDim("s", x.c.seq_len), ReduceDim("h", x.c.hidden),
                           SpatialDim("f", x.c.hidden)},
                          {first, WeightOf("pooler.dense.weight", {"h", "f"}, x.dt),
                           WeightOf("pooler.dense.bias", {"f"}, x.dt),
                           OutputOf(OutName("pooler.dense"), {"b", "f"}, x.dt)}, 2.0);
  dense.saved = {KeepAs(x.stream + "#first", {"b", "h"}, DTypeBytes(x.dt))};
  std::string pooled = Add(pooler, std::move(dense));
  Operator tanh = MakeOp("act", OpKind::kGelu, x.dt, {BatchDim("b", 1), BatchDim("f", x.c.hidden)},
                         {InputOf(pooled, {"b", "f"}, x.dt), OutputOf(OutName("pooler.act"), {"b", "f"}, x.dt)}, 0.0);
  tanh.attrs["fn"] = "tanh";  // an elementwise activation priced like gelu
  tanh.saved = {KeepAs("pooler.act.out", {"b", "f"}, DTypeBytes(x.dt))};
  pooled = Add(pooler, std::move(tanh));
  Operator nsp = MakeOp("nsp", OpKind::kLinear, x.dt,
                        {BatchDim("b", 1), ReduceDim("f", x.c.hidden), SpatialDim("v", 2)},
                        {InputOf(pooled, {"b", "f"}, x.dt), WeightOf("pooler.nsp.weight", {"f", "v"}, x.dt),
                         WeightOf("pooler.nsp.bias", {"v"}, x.dt), OutputOf(OutName("pooler.nsp"), {"b", "v"}, x.dt)},
                        2.0);
  nsp.saved = {Keep(nsp.tensors[0])};
  std::string nsp_logits = Add(pooler, std::move(nsp));

  Module loss{"loss", "loss", {}, {}};
  Operator ce = CrossEntropy(x, "loss.cross_entropy", "cross_entropy", mlm, "input.labels", TokDims(x), kTok, x.c.PaddedVocab());
  ce.attrs["tp"] = "v";
  Add(loss, std::move(ce));
  Add(loss, CrossEntropy(x, "loss.nsp", "nsp", nsp_logits, "input.nsp_labels", {BatchDim("b", 1)}, {"b"}, 2));
  return {std::move(pooler), std::move(head), std::move(loss)};
}

}  // namespace

std::string_view BlockStyleName(BlockStyle s) {
  switch (s) {
    case BlockStyle::kGpt: return "gpt";
    case BlockStyle::kLlama: return "llama";
    case BlockStyle::kBert: return "bert";
  }
  return "?";
}

namespace {

// Upper limits on configuration sizes, far beyond published models (the deepest, DeepNet, has 1,000
// layers; the widest FFN ~10^5; vocabularies ~10^6; context windows ~10^7 tokens). They keep model
// construction bounded (a layer count of 2^31 would build forever) and, with the product check
// below, every per-sample element count exact in int64 with room for batch factors.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxWidth = int64_t{1} << 20;   // hidden, ffn_hidden, head_dim, heads x head_dim
constexpr int64_t kMaxHeads = int64_t{1} << 16;
constexpr int64_t kMaxVocab = int64_t{1} << 30;   // also type_vocab and vocab_pad_multiple
constexpr int64_t kMaxSeqLen = int64_t{1} << 24;  // also max_positions
// Largest per-sample element count of one operator (attention: seq_len^2 x heads x head_dim):
// 2^53 is exact in double and leaves 2^10 of int64 headroom for micro-batch sizes.
constexpr double kMaxPoints = 9007199254740992.0;  // 2^53

void CheckSizeRange(const std::string& origin, const char* field, int64_t v, int64_t max, bool zero_ok) {
  if (v < 0 || (v == 0 && !zero_ok))
    throw UserError(origin + ": " + field, "must be a positive integer, got " + std::to_string(v));
  if (v > max)
    throw UserError(origin + ": " + field, "must be at most " + std::to_string(max) + ", got " + std::to_string(v) +
                                               " (far beyond any published model)");
}

}  // namespace

void ValidateTransformerConfig(const TransformerConfig& c, const std::string& origin) {
  CheckSizeRange(origin, "num_layers", c.num_layers, kMaxLayers, false);
  CheckSizeRange(origin, "hidden", c.hidden, kMaxWidth, false);
  CheckSizeRange(origin, "num_heads", c.num_heads, kMaxHeads, false);
  CheckSizeRange(origin, "vocab", c.vocab, kMaxVocab, false);
  CheckSizeRange(origin, "vocab_pad_multiple", c.vocab_pad_multiple, kMaxVocab, false);
  CheckSizeRange(origin, "seq_len", c.seq_len, kMaxSeqLen, false);
  CheckSizeRange(origin, "max_positions", c.max_positions, kMaxSeqLen, true);
  CheckSizeRange(origin, "type_vocab", c.type_vocab, kMaxVocab, false);
  CheckSizeRange(origin, "num_kv_heads", c.num_kv_heads, kMaxHeads, true);
  CheckSizeRange(origin, "ffn_hidden", c.ffn_hidden, kMaxWidth, true);
  CheckSizeRange(origin, "head_dim", c.head_dim, kMaxWidth, true);
  if (c.head_dim > 0 && c.num_heads * c.head_dim > kMaxWidth)
    throw UserError(origin + ": head_dim", "num_heads x head_dim = " + std::to_string(c.num_heads * c.head_dim) +
                                               " exceeds " + std::to_string(kMaxWidth));
  double s = static_cast<double>(c.seq_len), h = static_cast<double>(c.hidden);
  double inner = c.head_dim > 0 ? static_cast<double>(c.num_heads * c.head_dim) : h;
  double widest = std::max({s * s * inner, s * static_cast<double>(c.PaddedVocab()),
                            s * static_cast<double>(c.ffn_hidden > 0 ? c.ffn_hidden : 4 * c.hidden),
                            h * static_cast<double>(c.PaddedVocab())});
  if (widest > kMaxPoints)
    throw UserError(origin + ": seq_len", "the model is too large to simulate exactly: one operator of one sample "
                                          "spans " + std::to_string(widest) + " elements (more than 2^53); "
                                          "lower seq_len, hidden or vocab");
  if (c.head_dim == 0 && c.hidden % c.num_heads != 0)
    throw UserError(origin + ": num_heads", "must divide hidden (" + std::to_string(c.hidden) + "), got " +
                                                std::to_string(c.num_heads));
  int64_t kv = c.num_kv_heads ? c.num_kv_heads : c.num_heads;
  if (c.num_heads % kv != 0)
    throw UserError(origin + ": num_kv_heads", "must divide num_heads (" + std::to_string(c.num_heads) +
                                                   "), got " + std::to_string(kv));
  int64_t positions = c.max_positions ? c.max_positions : c.seq_len;
  if (c.style != BlockStyle::kLlama && positions < c.seq_len)
    throw UserError(origin + ": seq_len", "exceeds the learned position table (" + std::to_string(positions) +
                                              " rows); raise max_positions or lower seq_len");
  if (c.moe.enabled() && c.style != BlockStyle::kLlama)
    throw UserError(origin + ": moe.num_experts", "mixture-of-experts blocks are built for Llama-style models "
                                                  "(SwiGLU experts); got a " + std::string(BlockStyleName(c.style)) +
                                                  "-style model");
  if (!c.moe.enabled() && (c.moe.load_skew != 1.0 || c.moe.capacity_factor != 0))
    throw UserError(origin + (c.moe.load_skew != 1.0 ? ": moe_load_skew" : ": moe_capacity_factor"),
                    "applies to mixture-of-experts models only; " + (c.name.empty() ? std::string("this model") : c.name) +
                        " is dense");
  ValidateMoeConfig(c.moe, c.num_layers, origin);
  if (c.moe.enabled()) {
    double s_k = static_cast<double>(c.seq_len) * static_cast<double>(c.moe.top_k) * c.moe.LoadFactor();
    double width = static_cast<double>(c.moe.expert_ffn > 0 ? c.moe.expert_ffn : c.ffn_hidden > 0 ? c.ffn_hidden : 4 * c.hidden);
    if (s_k * std::max(width, h) * 2 > kMaxPoints)
      throw UserError(origin + ": seq_len", "the model is too large to simulate exactly: one expert GEMM of one "
                                            "sample spans more than 2^53 elements; lower seq_len or moe.top_k");
  }
}

Model BuildTransformer(const TransformerConfig& config, const std::string& origin) {
  ValidateTransformerConfig(config, origin);
  TransformerConfig c = config;
  if (c.num_kv_heads == 0) c.num_kv_heads = c.num_heads;
  if (c.head_dim == 0) c.head_dim = c.hidden / c.num_heads;
  if (c.ffn_hidden == 0) c.ffn_hidden = 4 * c.hidden;
  if (c.max_positions == 0) c.max_positions = c.seq_len;
  if (c.moe.expert_ffn == 0) c.moe.expert_ffn = c.ffn_hidden;
  if (c.moe.shared_ffn == 0) c.moe.shared_ffn = c.moe.expert_ffn;
  Ctx x{c, c.num_heads, c.num_kv_heads, c.num_heads / c.num_kv_heads, c.head_dim, c.ffn_hidden, c.dtype, ""};

  Model model;
  model.name = c.name;
  model.root = Module{"", "model", {}, {}};
  model.root.children.push_back(Embedding(x));
  Module layers{"layers", "layers", {}, {}};
  for (int64_t i = 0; i < c.num_layers; ++i) {
    std::string p = "layers." + std::to_string(i);
    Module layer{std::to_string(i), "transformer_layer", {}, {}};
    layer.children.push_back(AttentionBlock(x, p + ".attn"));
    layer.children.push_back(c.moe.IsMoeLayer(i) ? MoeBlock(x, p + ".mlp") : MlpBlock(x, p + ".mlp"));
    layers.children.push_back(std::move(layer));
  }
  model.root.children.push_back(std::move(layers));
  for (auto& m : c.style == BlockStyle::kBert ? BertHeads(x) : DecoderHead(x))
    model.root.children.push_back(std::move(m));

  model.seq_len = c.seq_len;
  model.hidden = c.hidden;
  model.num_layers = c.num_layers;
  model.num_heads = c.num_heads;
  model.num_kv_heads = c.num_kv_heads;
  model.vocab = c.PaddedVocab();
  model.dtype = c.dtype;
  model.family = std::string(BlockStyleName(c.style));
  model.ffn_hidden = c.ffn_hidden;
  model.head_dim = c.head_dim;
  model.tied_embeddings = c.tied_embeddings;
  model.fused_attention = c.fused_attention;
  model.num_experts = c.moe.num_experts;
  model.moe_top_k = c.moe.top_k;
  return model;
}

}  // namespace proteus
