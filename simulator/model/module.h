// Module tree: a model is a tree of named modules whose leaves hold operators. Paths are stable and
// dotted ("layers.3.mlp.fc1"), so strategies address modules by path and glob, never by position.
//
// Layout every model of the zoo follows (pipeline stages split any model the same way):
//   embed          (type "embedding")       ops word [, pos, type, add, norm, dropout]
//   layers         (type "layers")          children "0", "1", ... : the repeated blocks,
//                                           type "transformer_layer", "resnet_block",
//                                           "conv_block" (AlexNet, VGG) or "inception_block"
//     layers.i.attn (type "attention")      ops norm, qkv, [rope], core | scores softmax
//                                           attn_dropout context, proj, [dropout], residual
//     layers.i.mlp  (type "mlp")            ops norm, fc1, act, fc2, [dropout], residual
//                   (type "moe", moe.h)     ops norm, router, scores, permute, fc1, act, fc2,
//                                           unpermute, [shared_fc1, shared_act, shared_fc2], residual
//   final_norm     (type "norm")            op norm
//   lm_head        (type "lm_head")         op logits (weight tied to embed.word.weight or own)
//   loss           (type "loss")            op cross_entropy
// The CNNs use stem (ResNet, Inception) and layers as above, then head (pools, classifier),
// Inception's aux (type "aux_head", reading layers.7) and loss (Inception: cross_entropy and
// aux_cross_entropy); see resnet.h, classic_cnn.h, inception.h.
// An operator's path is its module's path joined with its name ("layers.0.mlp.fc1"). A module's
// ops run before its children; the zoo puts ops only in modules without children.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "simulator/model/op.h"

namespace proteus {

struct Module {
  std::string name;                 // last path component ("fc1", "3", "layers")
  std::string type;                 // "transformer_layer", "attention", "mlp", "embedding", ...
  std::vector<Module> children;     // in execution order
  std::vector<Operator> ops;        // this module's own operators, in execution order

  /// Parameters of this module and all descendants; a weight tensor shared by several ops (tied
  /// embeddings) is counted once.
  int64_t Params() const;
  /// Forward FLOPs of this module and all descendants (one sample unless batch dims were scaled).
  double ForwardFlops() const;
};

/// Calls fn(path, module) for every module, depth-first in execution order; root path is "".
void VisitModules(const Module& root, const std::function<void(const std::string&, const Module&)>& fn);
/// Joins paths: JoinPath("layers.3", "mlp") == "layers.3.mlp"; JoinPath("", "x") == "x".
std::string JoinPath(const std::string& parent, const std::string& child);
/// Calls fn(op_path, op) for every operator in execution order (a module's ops, then its children).
void VisitOps(const Module& root, const std::function<void(const std::string&, const Operator&)>& fn);
/// The module at a dotted path ("" is the root), or nullptr.
const Module* FindModule(const Module& root, const std::string& path);
/// Activation bytes kept for backward by the forward ops under `m`, one sample (b = 1), each
/// saved tensor counted once by name. A GPT layer: 34*s*h + 16*s + 4*a*s with fused attention
/// (LayerNorm statistics and softmax log-sum-exp in fp32), 34*s*h + 5*a*s^2 + 16*s unfused
/// (Korthikanti et al. 2022, eq. 1 with b = 1).
int64_t SavedActivationBytes(const Module& m);

/// A whole model: the tree plus the facts strategies and reports need.
struct Model {
  std::string name;                 // "gpt3-175b"
  Module root;
  int64_t seq_len = 0;              // tokens per sample (0 for non-sequence models)
  int64_t hidden = 0;
  int64_t num_layers = 0;           // repeated blocks, addressable as "layers.<i>"
  int64_t num_heads = 0, num_kv_heads = 0;
  int64_t vocab = 0;
  DType dtype = DType::kBf16;       // compute dtype of activations and weights
  // Added fields (defaults keep older code valid):
  std::string family;               // block family: "gpt", "llama", "bert", "resnet", "alexnet",
                                    // "vgg", "inception"
  int64_t ffn_hidden = 0;           // MLP inner width (per gate for SwiGLU)
  int64_t head_dim = 0;
  int64_t image_size = 0;           // input height = width for vision models (0 otherwise)
  bool tied_embeddings = false;     // lm head reuses embed.word.weight
  bool fused_attention = true;      // attention as one FlashAttention-style op
  int64_t num_experts = 0;          // routed experts per MoE layer (0: dense; model/moe.h)
  int64_t moe_top_k = 0;            // experts per token
  /// Model FLOPs per sample for one training step (fwd + bwd = 3x fwd), the MFU numerator
  /// without recomputation.
  double TrainingFlopsPerSample() const { return 3.0 * root.ForwardFlops(); }
  int64_t Params() const { return root.Params(); }
};

}  // namespace proteus
