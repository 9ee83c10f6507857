// Per-module parameters, FLOPs and activation memory of a model, for reports and `model` commands.
//
// Rows follow the module tree down to `max_depth` (root = depth 0). Consecutive siblings with the
// same type and the same numbers (the repeated transformer layers) collapse into one row with
// `count` > 1 ("layers.0 x96"); the totals are unaffected. Numbers are per sample (b = 1). A tied
// weight shows in every module that uses it (embed and lm_head); the model total counts it once.
//
//   ModelSummary s = SummarizeModel(BuildZooModel("gpt3-175b"), 2);
//   s.params == 174.6e9; s.modules[...] = {"layers.0", "transformer_layer", count 96, ...}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/model/module.h"

namespace proteus {

struct ModuleSummary {
  std::string path;        // of the first module of a collapsed run
  std::string type;
  int depth = 0;
  int count = 1;           // identical consecutive siblings this row stands for
  int64_t params = 0;      // per module (multiply by count for the run)
  double fwd_flops = 0;    // model FLOPs per sample, forward
  double bwd_flops = 0;    // model FLOPs per sample, derived backward
  int64_t saved_bytes = 0; // activations kept for backward per sample (deduplicated by name)
  int64_t ops = 0;         // forward operators under the module
};

struct ModelSummary {
  std::string name;
  std::string family;
  DType dtype = DType::kBf16;
  int64_t params = 0;
  double fwd_flops = 0, bwd_flops = 0;   // per sample
  int64_t saved_bytes = 0;               // per sample
  int64_t tokens_per_sample = 0;         // seq_len (0 for vision models)
  std::vector<ModuleSummary> modules;
};

ModelSummary SummarizeModel(const Model& model, int max_depth = 2);
/// A fixed-width table: path, type, count, params, fwd/bwd GFLOPs, activation MiB per sample.
std::string FormatModelSummary(const ModelSummary& summary);

}  // namespace proteus
