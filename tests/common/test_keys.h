// Small op keys that many tests build: one place, so the tests agree on what "a GEMM" is.
#pragma once

#include <cstdint>

#include "common/op_key.h"

namespace proteus::test_keys {

/// gemm|bf16|fwd|m,n,k
inline OpKey Gemm(int64_t m, int64_t n, int64_t k) {
  OpKey key;
  key.kind = "gemm";
  key.shape = {{"m", m}, {"n", n}, {"k", k}};
  return key;
}

/// gelu|bf16|fwd|elements
inline OpKey Gelu(int64_t elements) {
  OpKey key;
  key.kind = "gelu";
  key.shape = {{"elements", elements}};
  return key;
}

}  // namespace proteus::test_keys
