// Canonical op keys: one spelling per measurement, so that a key the simulator looks up and the key
// the profiler writes are the same string.
//
// Canonicalize checks a key against its kind (common/op_key.h) and the profiler's semantics
// (op_semantics.h), fills default attributes and rejects what cannot be measured:
//   {attention bf16 fwd, batch 1, heads 32, kv_heads 8, seq_q 4096, seq_kv 4096, head_dim 128}
//     -> the same with attrs {causal: "0"} (the default), key
//        "attention|bf16|fwd|batch=1,head_dim=128,heads=32,kv_heads=8,seq_kv=4096,seq_q=4096|causal=0"
//   heads 32, kv_heads 6 -> UserError "heads (32) must be a multiple of kv_heads (6)".
#pragma once

#include <optional>
#include <string>

#include "common/op_key.h"

namespace proteus::profiler {

/// Returns the canonical form of `key`; throws UserError("<where>", what) if it is not measurable.
OpKey Canonicalize(const OpKey& key, const std::string& where);

/// Why a well-formed key cannot be measured by this profiler (a phase, dtype or attribute it has no
/// kernel for, e.g. batchnorm bwd_weight, which cuDNN computes inside bwd_data), or nullopt if it
/// can. Manifests written by proteus-sim may hold such keys: they are skipped with a warning and the
/// simulator keeps its estimate for them.
std::optional<std::string> UnsupportedReason(const OpKey& key);

/// Builds a canonical key (used by the sweep); throws InternalError if the sweep built a bad key.
OpKey MakeKey(const std::string& kind, DType dtype, Phase phase,
              std::map<std::string, int64_t> shape, std::map<std::string, std::string> attrs = {});

}  // namespace proteus::profiler
