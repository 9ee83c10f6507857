// What each canonical op key means to the profiler: which phases a kind has, which dtypes it can be
// measured in, its attributes, its interference class, and how much work one call does.
//
// Phases (docs/profiler.md has the full table):
//   gemm, bgemm, conv2d          fwd, bwd_data, bwd_weight (the two backward products, forward m,n,k)
//   layernorm, rmsnorm           fwd, bwd_data (dx), bwd_weight (dgamma[, dbeta] column reduction)
//   embedding                    fwd (gather), bwd_weight (scatter-add into the table gradient)
//   attention, softmax, gelu, swiglu, dropout, rope, cross_entropy, batchnorm, pool
//                                fwd, bwd_data (the whole backward; batchnorm's includes dgamma/dbeta)
//   add, copy                    fwd            adam    step (dtype = the weights'; fp32 states)
//
// Work of one call (flop and bytes moved to and from HBM), e.g. gemm bf16 fwd m=n=k=4096:
//   flops = 2*m*n*k = 1.37e11, bytes = (m*k + k*n + m*n) * 2 = 100.7 MB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/op_key.h"

namespace proteus::profiler {

/// Phases a kind is measured in (empty for an unknown kind).
std::vector<Phase> PhasesOf(const std::string& kind);
/// Dtypes a kind can be measured in (gemm/bgemm take fp8 and tf32; conv2d tf32).
std::vector<DType> DTypesOf(const std::string& kind);
/// Attribute names a kind takes, with their allowed values; the first value is the default.
struct AttrSpec {
  std::string name;
  std::vector<std::string> values;
};
std::vector<AttrSpec> AttrsOf(const std::string& kind);

/// The class an op belongs to for interference (gemm, attention, norm, elementwise, conv, memory,
/// optimizer, copy).
std::string OpClass(const std::string& kind);

/// Work of one call of the op a key names.
struct OpWork {
  double flops = 0;        // floating-point operations (multiply-add = 2)
  double bytes = 0;        // bytes read + written in HBM by an ideal implementation
  int kernels = 1;         // kernels launched per call by proteus's implementation
};
OpWork WorkOf(const OpKey& key);

/// Device memory one input set of the op occupies (inputs, outputs and scratch), bytes: the unit
/// of input rotation and of the out-of-memory check.
int64_t FootprintOf(const OpKey& key);

}  // namespace proteus::profiler
