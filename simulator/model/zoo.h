// The model zoo: published model sizes by name, built by the block builders.
//
// Sizes come from the papers and model cards cited in zoo.cc beside each table; docs/models.md lists
// them. Names are lower-case: "gpt3-175b", "megatron-145.6b", "gpt2-xl", "llama2-70b", "llama3-8b",
// "llama3.2-1b", "bert-large", "resnet50",
// "alexnet", "vgg16", "vgg19", "inception-v3".
//
//   Model m = BuildZooModel("gpt3-175b");            // bf16, fused attention
//   ZooOptions o; o.dtype = DType::kFp16; o.num_layers = 48;
//   Model half = BuildZooModel("gpt3-175b", o);      // fp16, 48 layers
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "simulator/model/module.h"

namespace proteus {

/// Changes applied to a zoo entry before building (the "overrides" of a proteus.model/1 file).
struct ZooOptions {
  std::optional<DType> dtype;
  std::optional<int64_t> num_layers, seq_len, hidden, num_heads, num_kv_heads, ffn_hidden, vocab;
  std::optional<int64_t> image_size;        // vision models
  std::optional<bool> aux_logits;           // Inception-v3's auxiliary classifier (default true)
  std::optional<int64_t> vocab_pad_multiple;  // Megatron vocab padding (default 128; 1: none)
  std::optional<bool> fused_attention, tied_embeddings, dropout;
  /// Mixture of experts (model/moe.h): the busiest expert's load over the average one's, and the
  /// capacity factor (0: dropless). Refused on a dense model.
  std::optional<double> moe_load_skew, moe_capacity_factor;
  std::optional<std::string> name;          // the built model's name (default: the zoo name)
};

struct TransformerConfig;
/// Applies the transformer fields of `options` to `config` (image_size is ignored here).
void ApplyZooOptions(const ZooOptions& options, TransformerConfig& config);

/// Every zoo name, sorted.
std::vector<std::string> ZooModelNames();
/// True if `name` is a zoo name.
bool IsZooModel(const std::string& name);
/// True if `name` is a zoo vision model (an image classifier: no sequence, image_size applies).
bool IsVisionModel(const std::string& name);

/// Builds a zoo model; UserError listing the known names for an unknown one. `origin` names the
/// source in errors (a file, "--model").
Model BuildZooModel(const std::string& name);
Model BuildZooModel(const std::string& name, const ZooOptions& options,
                    const std::string& origin = "model");

}  // namespace proteus
