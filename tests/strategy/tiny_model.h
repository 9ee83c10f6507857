// A 2-layer GPT-like model built inline with the IR: embed (vocab-parallel lookup), per layer an MLP
// block (norm, fc1, act, fc2, residual) carrying the model's tp/sp hints, then final_norm, lm_head
// and loss. Sizes: s 8, h 16, f 64, vocab 32, 16 heads' worth of nothing (no attention needed here).
#pragma once

#include <string>

#include "simulator/model/module.h"
#include "simulator/model/op_builders.h"

namespace proteus::testing {

inline Module TinyMlp(const std::string& p, std::string& stream, int64_t s, int64_t h, int64_t f) {
  Module m{"mlp", "mlp", {}, {}};
  auto tok = [&](std::vector<Dim> more) {
    std::vector<Dim> d = {BatchDim("b", 1), BatchDim("s", s)};
    for (auto& x : more) d.push_back(x);
    return d;
  };
  Operator norm = MakeOp("norm", OpKind::kLayerNorm, DType::kBf16, tok({OpaqueDim("h", h)}),
                         {InputOf(stream, {"b", "s", "h"}, DType::kBf16), WeightOf(p + ".norm.weight", {"h"}, DType::kBf16),
                          OutputOf(p + ".norm.out", {"b", "s", "h"}, DType::kBf16)}, 0.0);
  norm.attrs["sp"] = "s";
  norm.saved = {Keep(norm.tensors[0])};
  Operator fc1 = MakeOp("fc1", OpKind::kLinear, DType::kBf16, tok({ReduceDim("h", h), SpatialDim("f", f)}),
                        {InputOf(p + ".norm.out", {"b", "s", "h"}, DType::kBf16),
                         WeightOf(p + ".fc1.weight", {"h", "f"}, DType::kBf16),
                         OutputOf(p + ".fc1.out", {"b", "s", "f"}, DType::kBf16)}, 2.0);
  fc1.attrs["tp"] = "f";
  fc1.saved = {Keep(fc1.tensors[0])};
  Operator act = MakeOp("act", OpKind::kGelu, DType::kBf16, tok({BatchDim("f", f)}),
                        {InputOf(p + ".fc1.out", {"b", "s", "f"}, DType::kBf16),
                         OutputOf(p + ".act.out", {"b", "s", "f"}, DType::kBf16)}, 0.0);
  act.attrs["tp"] = "f";
  act.saved = {Keep(act.tensors[0])};
  Operator fc2 = MakeOp("fc2", OpKind::kLinear, DType::kBf16, tok({ReduceDim("f", f), SpatialDim("h", h)}),
                        {InputOf(p + ".act.out", {"b", "s", "f"}, DType::kBf16),
                         WeightOf(p + ".fc2.weight", {"f", "h"}, DType::kBf16),
                         OutputOf(p + ".fc2.out", {"b", "s", "h"}, DType::kBf16)}, 2.0);
  fc2.attrs["tp"] = "f";
  fc2.saved = {Keep(fc2.tensors[0])};
  Operator res = MakeOp("residual", OpKind::kAdd, DType::kBf16, tok({BatchDim("h", h)}),
                        {InputOf(stream, {"b", "s", "h"}, DType::kBf16), InputOf(p + ".fc2.out", {"b", "s", "h"}, DType::kBf16),
                         OutputOf(p + ".residual.out", {"b", "s", "h"}, DType::kBf16)}, 0.0);
  res.attrs["sp"] = "s";
  m.ops = {norm, fc1, act, fc2, res};
  stream = p + ".residual.out";
  return m;
}

/// Layers "layers.<i>" each holding one "mlp" module.
inline Model TinyGpt(int layers = 2, int64_t s = 8, int64_t h = 16, int64_t f = 64, int64_t vocab = 32) {
  Model model;
  model.name = "tiny-gpt";
  model.seq_len = s;
  model.hidden = h;
  model.num_layers = layers;
  model.vocab = vocab;
  model.root.name = "";
  Module embed{"embed", "embedding", {}, {}};
  Operator word = MakeOp("word", OpKind::kEmbedding, DType::kBf16,
                         {BatchDim("b", 1), BatchDim("s", s), ReduceDim("v", vocab), SpatialDim("h", h)},
                         {ModelInput("input.tokens", {"b", "s"}, DType::kInt64),
                          WeightOf("embed.word.weight", {"v", "h"}, DType::kBf16),
                          OutputOf("embed.word.out", {"b", "s", "h"}, DType::kBf16)}, 0.0);
  word.attrs["tp"] = "v";
  embed.ops = {word};
  model.root.children.push_back(embed);
  Module stack{"layers", "layers", {}, {}};
  std::string stream = "embed.word.out";
  for (int i = 0; i < layers; ++i) {
    Module layer{std::to_string(i), "transformer_layer", {}, {}};
    layer.children.push_back(TinyMlp("layers." + std::to_string(i) + ".mlp", stream, s, h, f));
    stack.children.push_back(layer);
  }
  model.root.children.push_back(stack);
  Module fn{"final_norm", "norm", {}, {}};
  Operator norm = MakeOp("norm", OpKind::kLayerNorm, DType::kBf16,
                         {BatchDim("b", 1), BatchDim("s", s), OpaqueDim("h", h)},
                         {InputOf(stream, {"b", "s", "h"}, DType::kBf16), WeightOf("final_norm.norm.weight", {"h"}, DType::kBf16),
                          OutputOf("final_norm.norm.out", {"b", "s", "h"}, DType::kBf16)}, 0.0);
  norm.attrs["sp"] = "s";
  norm.saved = {Keep(norm.tensors[0])};
  fn.ops = {norm};
  model.root.children.push_back(fn);
  Module head{"lm_head", "lm_head", {}, {}};
  Operator logits = MakeOp("logits", OpKind::kLinear, DType::kBf16,
                           {BatchDim("b", 1), BatchDim("s", s), ReduceDim("h", h), SpatialDim("v", vocab)},
                           {InputOf("final_norm.norm.out", {"b", "s", "h"}, DType::kBf16),
                            WeightOf("lm_head.logits.weight", {"v", "h"}, DType::kBf16),
                            OutputOf("lm_head.logits.out", {"b", "s", "v"}, DType::kBf16)}, 2.0);
  logits.attrs["tp"] = "v";
  logits.saved = {Keep(logits.tensors[0])};
  head.ops = {logits};
  model.root.children.push_back(head);
  Module loss{"loss", "loss", {}, {}};
  Operator ce = MakeOp("cross_entropy", OpKind::kCrossEntropy, DType::kFp32,
                       {BatchDim("b", 1), BatchDim("s", s), ReduceDim("v", vocab)},
                       {InputOf("lm_head.logits.out", {"b", "s", "v"}, DType::kBf16),
                        ModelInput("input.labels", {"b", "s"}, DType::kInt64),
                        OutputOf("loss.cross_entropy.out", {"b", "s"}, DType::kFp32)}, 0.0);
  ce.attrs["tp"] = "v";
  ce.saved = {KeepAs("loss.softmax", {"b", "s", "v"}, 4)};
  loss.ops = {ce};
  model.root.children.push_back(loss);
  return model;
}

}  // namespace proteus::testing
