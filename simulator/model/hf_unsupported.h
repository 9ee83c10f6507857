// HF config.json keys that change what a model computes or how many parameters it has, and that
// the importer does not (yet) model. A config carrying one is refused rather than silently priced
// as the dense model its other keys describe (a Mixtral config read as a 7B dense Llama was the bug
// this guards against).
//
//   {"model_type": "deepseek_v3", "kv_lora_rank": 512, ...}  -> UserError "config.json: kv_lora_rank"
#pragma once

#include <string_view>
#include <vector>

#include "common/json_file.h"

namespace proteus {

/// Throws UserError "<file>: <key>" for the first key of `unsupported` present in `v` with a value
/// that switches its feature on (not null, 0, false or an empty list); `unsupported` pairs a key
/// with the feature it belongs to, for the message.
struct UnsupportedHfKey {
  std::string_view key;
  std::string_view feature;
};
void RejectUnsupportedHfKeys(const JsonView& v, const std::vector<UnsupportedHfKey>& unsupported);

/// The keys no importer path understands today (see hf_unsupported.cc for the list and its sources).
const std::vector<UnsupportedHfKey>& UnsupportedHfKeys();

}  // namespace proteus
