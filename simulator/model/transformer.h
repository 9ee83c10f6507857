// Transformer models from a handful of sizes: GPT-style (pre-LayerNorm, learned positions, GeLU MLP,
// biases, dropout), Llama-style (pre-RMSNorm, RoPE, SwiGLU MLP, grouped-query attention, no biases,
// no dropout) and BERT-style (post-LayerNorm encoder, token types, MLM + NSP heads).
//
// Per layer, with h hidden, a heads, G kv groups (= a without GQA), d = h/a, F the MLP width, s the
// sequence, one sample, forward model FLOPs (2 per multiply-add) are
//   qkv 2*s*h*(a + 2G)*d   attention 4*s^2*a*d (QK^T and PV, causal not halved: Megatron's count)
//   proj 2*s*h^2           MLP 2*s*h*F*2 (GeLU) or 2*s*h*F*3 (SwiGLU)
// A Llama-style model with `moe` set replaces the MLP of its MoE layers by a mixture-of-experts
// block (moe.h: its parameters, FLOPs and a worked example).
// so a GPT layer (G = a, F = 4h) does 24*s*h^2 + 4*s^2*h, and with the logits 2*s*h*V the model
// matches Megatron-LM's 72*B*s*l*h^2*(1 + s/(6h) + V/(12*l*h)) for fwd + bwd (B = 1).
// Worked example: gpt3-175b (l 96, h 12288, s 2048, V 51200): 24*2048*96*12288^2 = 7.13e14,
// attention 4*2048^2*12288*96 = 1.98e13, logits 2*2048*12288*51200 = 2.58e12: 7.35e14 FLOPs per
// sample forward, x3 = 2.21e15 per training step.
#pragma once

#include <cstdint>
#include <string>

#include "common/dtype.h"
#include "simulator/model/module.h"
#include "simulator/model/moe.h"

namespace proteus {

enum class BlockStyle { kGpt, kLlama, kBert };
std::string_view BlockStyleName(BlockStyle s);  // "gpt", "llama", "bert"

/// Sizes and choices of one transformer. Zero kv heads or ffn width mean "the default" (heads, 4h).
struct TransformerConfig {
  /// Vocabulary rows after Megatron-style padding.
  int64_t PaddedVocab() const {
    return vocab_pad_multiple > 1 ? (vocab + vocab_pad_multiple - 1) / vocab_pad_multiple * vocab_pad_multiple : vocab;
  }
  std::string name;
  BlockStyle style = BlockStyle::kGpt;
  int64_t num_layers = 0;
  int64_t hidden = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;       // 0: = num_heads (no GQA)
  int64_t head_dim = 0;           // 0: hidden / num_heads
  int64_t ffn_hidden = 0;         // 0: 4 * hidden
  int64_t vocab = 0;
  // Embedding and LM-head rows are padded to a multiple of this, as Megatron-LM does
  // (--make-vocab-size-divisible-by, default 128), so tensor parallelism can split the vocabulary.
  // 1 keeps the tokenizer's size (as HF checkpoints count parameters).
  int64_t vocab_pad_multiple = 128;
  int64_t seq_len = 0;
  int64_t max_positions = 0;      // learned position table rows (GPT, BERT); 0: = seq_len
  int64_t type_vocab = 2;         // BERT token types
  bool tied_embeddings = true;
  bool fused_attention = true;    // one FlashAttention op; false: bmm, softmax, dropout, bmm
  bool dropout = true;            // GPT/BERT: Megatron's hidden and attention dropout
  bool bias = true;               // linear and norm biases (GPT, BERT)
  bool causal = true;             // decoder (GPT, Llama); BERT is not
  DType dtype = DType::kBf16;
  MoeConfig moe;                  // num_experts 0: dense (Llama style only otherwise)
};

/// Checks sizes (positive, heads divide hidden, kv heads divide heads, ...); UserError at
/// "<origin>: <field>" naming the field and what is expected.
void ValidateTransformerConfig(const TransformerConfig& c, const std::string& origin);

/// Builds the module tree (module.h layout). Validates first.
Model BuildTransformer(const TransformerConfig& c, const std::string& origin);

}  // namespace proteus
