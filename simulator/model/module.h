// Module tree: a model is a tree of named modules whose leaves hold operators. Paths are stable and
// dotted ("layers.3.mlp.fc1"), so strategies address modules by path and glob, never by position.
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

  /// Parameters of this module and all descendants.
  int64_t Params() const;
  /// Forward FLOPs of this module and all descendants (one sample unless batch dims were scaled).
  double ForwardFlops() const;
};

/// Calls fn(path, module) for every module, depth-first in execution order; root path is "".
void VisitModules(const Module& root, const std::function<void(const std::string&, const Module&)>& fn);
/// Joins paths: JoinPath("layers.3", "mlp") == "layers.3.mlp"; JoinPath("", "x") == "x".
std::string JoinPath(const std::string& parent, const std::string& child);

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
  /// Model FLOPs per sample for one training step (fwd + bwd = 3x fwd), the MFU numerator
  /// without recomputation.
  double TrainingFlopsPerSample() const { return 3.0 * root.ForwardFlops(); }
  int64_t Params() const { return root.Params(); }
};

}  // namespace proteus
