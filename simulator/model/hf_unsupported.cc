#include "simulator/model/hf_unsupported.h"

#include <string>

namespace proteus {
namespace {

// A key "switches its feature on" unless its value is an explicit off: HF configs of dense models
// often carry e.g. "q_lora_rank": null or "num_experts": 0.
bool SwitchesOn(const Json& value) {
  if (value.is_null()) return false;
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number()) return value.get<double>() != 0;
  if (value.is_array() || value.is_object()) return !value.empty();
  return true;
}

}  // namespace

void RejectUnsupportedHfKeys(const JsonView& v, const std::vector<UnsupportedHfKey>& unsupported) {
  for (const auto& u : unsupported) {
    if (!v.Has(u.key) || !SwitchesOn(v.raw().at(std::string(u.key)))) continue;
    v.FailField(u.key, "not supported: " + std::string(u.feature) +
                           " is not modelled, and simulating the model without it would give a different answer");
  }
}

// Keys from the released configs of DeepSeek-V2/V3 (modeling_deepseek.py), Qwen2-MoE, DBRX and
// Jamba. Each one adds parameters or FLOPs the builders do not model. (The MoE keys hf_config.cc
// reads, num_local_experts, n_routed_experts, first_k_dense_replace, ..., left this list when they
// became understood.)
const std::vector<UnsupportedHfKey>& UnsupportedHfKeys() {
  static const std::vector<UnsupportedHfKey> kKeys = {
      {"shared_expert_intermediate_size", "shared experts"},
      {"mlp_only_layers", "mixture-of-experts layer placement"},
      {"ffn_config", "mixture-of-experts (DBRX)"},
      {"expert_interval", "mixture-of-experts layer placement (Jamba)"},
      {"kv_lora_rank", "multi-head latent attention (MLA)"},
      {"q_lora_rank", "multi-head latent attention (MLA)"},
      {"qk_rope_head_dim", "multi-head latent attention (MLA)"},
      {"qk_nope_head_dim", "multi-head latent attention (MLA)"},
      {"v_head_dim", "multi-head latent attention (MLA)"},
      {"num_nextn_predict_layers", "multi-token prediction"},
  };
  return kKeys;
}

}  // namespace proteus
