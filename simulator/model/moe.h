// Mixture-of-experts feed-forward blocks (Mixtral, Qwen3-MoE, DeepSeekMoE), built as Megatron-Core's
// MoELayer runs them: router, top-k scores, token permute (dispatch), grouped SwiGLU expert GEMMs,
// unpermute (combine), and optional shared experts run as a dense SwiGLU MLP beside the routed ones.
//
// Model. E routed experts of SwiGLU width F_e, top-k routing, S shared experts of width F_s each, h
// hidden, s tokens of one sample, skew L = tokens of the busiest expert / tokens of the average
// expert (1: uniform routing), capacity factor C (0: dropless). Tokens routed per sample: s*k; the
// busiest expert's GEMMs are sized for x = ceil(s*k*L') tokens, L' = L dropless, min(L, C) when
// tokens over capacity are dropped. Per MoE layer:
//   parameters   router E*h + routed experts 3*E*h*F_e + shared 3*h*(S*F_s)
//   active       router E*h + 3*k*h*F_e + 3*h*(S*F_s)   (what one token touches)
//   forward FLOPs (model, 2 per multiply-add) router 2*s*h*E + experts 2*s*k*h*3*F_e + shared
//                2*s*h*3*S*F_s; permute, scores and unpermute move bytes only
// Model FLOPs count the s*k routed tokens (the MFU convention: active parameters); the GEMMs are
// priced (hardware FLOPs, database shapes) for x tokens, the busiest rank that everyone waits for.
// Expert GEMMs are priced as one GEMM of x tokens against the expert width (a grouped GEMM of
// uniformly loaded experts), which is what a rank computes whatever its number of local experts.
//
// Worked example, Mixtral-8x7B (h 4096, F_e 14336, E 8, k 2, s 4096, no shared experts):
//   router 8*4096 = 32,768 params; experts 3*8*4096*14336 = 1,409,286,144 params per layer;
//   forward FLOPs per layer and sample: router 2*4096*4096*8 = 2.68e8, experts
//   2*4096*2*4096*3*14336 = 2.89e12 (= two dense 14336-wide SwiGLU MLPs).
//   32 layers plus attention (41,943,040 per layer), norms and the untied 32,000-row embedding
//   and head give 46,702,792,704 parameters (Mistral AI: 46.7B) and 12.9B active (12.9B).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "simulator/model/module.h"

namespace proteus {

/// How the router scores its experts (Mixtral, Qwen: softmax; DeepSeek-V3: sigmoid). Priced alike.
enum class RouterScore { kSoftmax, kSigmoid };
std::string_view RouterScoreName(RouterScore s);  // "softmax", "sigmoid"

/// MoE sizes of a transformer; num_experts 0 means a dense model (every other field ignored).
struct MoeConfig {
  int64_t num_experts = 0;         // E routed experts per MoE layer
  int64_t top_k = 0;               // experts per token
  int64_t expert_ffn = 0;          // SwiGLU width of one routed expert; 0: the dense ffn_hidden
  int64_t num_shared_experts = 0;  // S experts every token passes through (DeepSeekMoE)
  int64_t shared_ffn = 0;          // width of one shared expert; 0: expert_ffn
  int64_t first_dense_layers = 0;  // the first layers keep a dense MLP (DeepSeek first_k_dense_replace)
  int64_t sparse_step = 1;         // layer i >= first_dense_layers is MoE when (i + 1) % step == 0 (Qwen)
  double capacity_factor = 0;      // 0: dropless (Megatron-Core's default); > 0: drop beyond C x average
  double load_skew = 1.0;          // busiest expert's tokens / the average expert's (>= 1; 1: uniform)
  RouterScore score = RouterScore::kSoftmax;

  bool enabled() const { return num_experts > 0; }
  /// True if layer `i` (0-based) has an MoE block instead of a dense MLP.
  bool IsMoeLayer(int64_t i) const { return enabled() && i >= first_dense_layers && (i + 1) % sparse_step == 0; }
  /// The busiest expert's load over the average one's: load_skew, capped by capacity_factor if set.
  double LoadFactor() const;
};

/// Checks the MoE fields (top_k in [1, E], widths, skew >= 1, ...); UserError "<origin>: moe.<field>".
void ValidateMoeConfig(const MoeConfig& moe, int64_t num_layers, const std::string& origin);

/// What the MoE ops need from the transformer being built.
struct MoeShape {
  int64_t hidden = 0, seq_len = 0, expert_ffn = 0, shared_ffn = 0;
  DType dtype = DType::kBf16;
};

/// The ops of one MoE block at `path` ("layers.3.mlp") between its norm (output `in`) and its
/// residual add: router, scores, permute, fc1, act, fc2, unpermute, then the shared experts'
/// shared_fc1, shared_act, shared_fc2. Sets `outs` to the tensors the residual add sums (the
/// combined routed output, then the shared output if any).
std::vector<Operator> MoeOps(const MoeConfig& moe, const MoeShape& shape, const std::string& path,
                             const std::string& in, std::vector<std::string>* outs);

/// Attribute of routed-expert weight ops: "routed_expert" = the number of routed experts E (with
/// "top_k"), so memory, parallelism and counting code finds them without knowing op names.
inline constexpr const char* kRoutedExpertAttr = "routed_expert";

/// True if `op` holds routed-expert weights (the weights expert parallelism shards).
bool IsRoutedExpertOp(const Operator& op);

/// Parameters one token uses: every weight, with routed experts' counted top_k / E of the way.
int64_t ActiveParams(const Module& root);

}  // namespace proteus
