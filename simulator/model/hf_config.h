// Decoder (and BERT) models from a Hugging Face config.json.
//
// Read keys (GPT-2 spellings in brackets): hidden_size [n_embd], num_hidden_layers [n_layer],
// num_attention_heads [n_head], num_key_value_heads (default: heads), head_dim (default:
// hidden / heads), intermediate_size [n_inner] (default 4 * hidden), vocab_size,
// max_position_embeddings [n_positions, n_ctx] (the sequence length unless overridden),
// tie_word_embeddings (default true for gpt2/bert, false otherwise), torch_dtype (bfloat16,
// float16, float32; default bf16), type_vocab_size (bert), model_type and hidden_act.
// Block style: model_type llama, mistral, qwen2, qwen3, gemma, phi3 or a hidden_act of silu/swiglu
// -> Llama-style (RMSNorm, RoPE, SwiGLU, no biases, no dropout); gpt2, gpt_neo, gpt_neox, gptj,
// opt, bloom, falcon, or a gelu/relu hidden_act -> GPT-style; bert, roberta -> BERT-style.
//
//   {"model_type": "llama", "hidden_size": 2048, "num_hidden_layers": 16, ...}  -> Llama-style
#pragma once

#include <string>

#include "common/json_file.h"
#include "simulator/model/module.h"
#include "simulator/model/transformer.h"

namespace proteus {

/// The transformer a config describes; UserError "<origin>: <key>" for a missing or bad key.
TransformerConfig TransformerConfigFromHf(const Json& config, const std::string& origin);

/// Builds the model a config describes (name: "name_or_path" from the config, else `origin`).
Model ModelFromHfConfig(const Json& config, const std::string& origin);

/// True if `doc` looks like an HF config (an object with model_type, hidden_size or n_embd).
bool LooksLikeHfConfig(const Json& doc);

}  // namespace proteus
