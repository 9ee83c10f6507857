// Checked integer arithmetic for products of user-given counts (GPUs x micro-batches, MiB x 2^20):
// an overflow is reported, never wrapped into a small or negative number.
//
//   auto gpus = CheckedMul({tp, pp, dp});          // nullopt if the product leaves int64
//   int64_t bytes = MulOrThrow(mb, 1 << 20, "--grad-bucket-mb");
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "common/error.h"

namespace proteus {

/// a x b, or nullopt when it does not fit int64.
inline std::optional<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// The product of `factors`, or nullopt when a partial product does not fit int64.
inline std::optional<int64_t> CheckedMul(std::initializer_list<int64_t> factors) {
  int64_t r = 1;
  for (int64_t f : factors) {
    auto next = CheckedMul(r, f);
    if (!next) return std::nullopt;
    r = *next;
  }
  return r;
}

/// a x b; UserError(where, "... too large") when it does not fit int64.
inline int64_t MulOrThrow(int64_t a, int64_t b, const std::string& where) {
  auto r = CheckedMul(a, b);
  if (!r) throw UserError(where, std::to_string(a) + " x " + std::to_string(b) + " is too large");
  return *r;
}

}  // namespace proteus
