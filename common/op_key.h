// Canonical operator keys: the vocabulary the profiler measures in and the simulator looks up in.
//
// A key is (kind, dtype, phase, shape parameters, attributes). Each kind has fixed shape parameter
// names (table in op_key.cc), e.g. gemm {m, n, k}: C[m,n] = A[m,k] B[k,n], so
//   a Megatron fc1 on 2x2048 tokens, h 12288 -> 4h/8 per TP rank:
//   gemm/bf16/fwd  m=4096 n=6144 k=12288
// Backward halves of a gemm are keyed by their own phase with the forward's m/n/k (the profiler
// runs the transposed products); this keeps one key per model operator and phase.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace proteus {

/// One canonical kind and its parameters.
struct OpKindSpec {
  std::string_view kind;
  std::vector<std::string_view> shape_params;  // required, all >= 0 (flags go in attrs)
  std::string_view meaning;                    // one line for docs and --help
};

/// All kinds proteus measures and looks up (gemm, bgemm, attention, layernorm, rmsnorm, softmax,
/// gelu, swiglu, dropout, add, rope, embedding, cross_entropy, adam, conv2d, batchnorm, pool, copy).
const std::vector<OpKindSpec>& OpKindSpecs();
const OpKindSpec* FindOpKind(std::string_view kind);

struct OpKey {
  std::string kind;
  DType dtype = DType::kBf16;
  Phase phase = Phase::kFwd;
  std::map<std::string, int64_t> shape;       // canonical parameters of `kind`
  std::map<std::string, std::string> attrs;   // e.g. causal=1, layout, copy direction

  /// Stable text form, also the database's lookup key:
  ///   "gemm|bf16|fwd|k=4096,m=8192,n=12288|" (+ "a=b,c=d" attrs, all sorted)
  std::string ToString() const;
  /// The key without shape values: entries with the same family can be interpolated between.
  std::string FamilyString() const;
  bool operator==(const OpKey&) const = default;
  bool operator<(const OpKey& o) const { return ToString() < o.ToString(); }
};

/// Checks a key against its kind's spec; returns a message naming the problem, or nullopt if valid.
std::optional<std::string> ValidateOpKey(const OpKey& key);

/// Parses the text form OpKey::ToString writes ("gemm|bf16|fwd|k=8192,m=8192,n=8192|", attrs
/// "causal=1" in the last part; shape parameters in any order) and validates it (ValidateOpKey).
/// Dtype and phase must be the canonical names ("bf16", not "bfloat16"). Returns nullopt for any
/// malformed or invalid text; `why`, when given, then receives the reason.
std::optional<OpKey> ParseOpKey(std::string_view text, std::string* why = nullptr);

}  // namespace proteus
