// Tensor layouts over the mesh and the communication that converts between them.
//
// Model. An op's partition maps some of its dims to mesh axes. Along each mesh axis a tensor the op
// touches is, on every rank of that axis:
//   sharded S(k)  the op dim indexing the tensor's axis k is partitioned on the mesh axis;
//   partial P     (written tensors only) a partitioned dim does not index it: each rank holds a
//                 partial sum (a row-parallel linear's output, a data-parallel weight gradient);
//   replicated R  otherwise: every rank needs / holds the whole tensor along this mesh axis.
// Where a consumer needs a layout its producer did not make, per mesh axis:
//   P -> R all_reduce    P -> S reduce_scatter    S -> R all_gather
//   R -> S local slice (no communication)        S(k) -> S(j) all_to_all
// The same rules on the gradients of backward give Megatron's f and g operators: a column-parallel
// linear's input gradient is partial over tp (its output features are summed) -> all_reduce, or
// reduce_scatter when the consumer is sequence-parallel.
//
// Bytes follow nccl-tests: all_reduce the buffer, all_gather the gathered output, reduce_scatter the
// full input, all_to_all the local buffer. Worked example: fc2 output [b 1, s 2048, h 12288] bf16
// partial over tp 8, consumer replicated: all_reduce of 1*2048*12288*2 = 50,331,648 bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "simulator/model/op.h"
#include "topo/collective.h"

namespace proteus {

inline constexpr int8_t kReplicated = -1;
inline constexpr int8_t kPartial = -2;
/// Per mesh axis: kReplicated, kPartial, or k >= 0: sharded along the tensor's axis k.
using TensorLayout = std::vector<int8_t>;

/// Op dim name -> mesh axis index, only for dims the op iterates.
using AxisPartition = std::map<std::string, int>;

enum class LayoutUse {
  kRead,        // an input or weight the op needs: S or R
  kWrite,       // an output the op writes, or an input gradient it writes: S, P or R
  kWeightGrad,  // a weight gradient: partial only over dims that index an output (not a bias's
                // untouched reduce dims), S or R otherwise
};

/// Layout of a tensor with `axes` (op dim names) as `op` under `partition` reads or writes it.
TensorLayout LayoutOf(const Operator& op, const AxisPartition& partition, const std::vector<std::string>& axes,
                      LayoutUse use, int num_mesh_axes);

/// The gradient layout the writer of a forward tensor expects back: its forward layout with
/// partial sums turned into replicas (the gradient of a sum reaches every addend).
TensorLayout GradientLayoutFor(const TensorLayout& forward_write);

struct Conversion {
  CollOp op = CollOp::kAllReduce;
  int axis = 0;       // mesh axis
  int64_t bytes = 0;  // nccl-tests size
};

/// Collectives turning `from` into `to`, innermost mesh axis first. `global_bytes` is the whole
/// tensor (all shards of one micro-batch). Empty when no communication is needed.
std::vector<Conversion> ConvertLayout(const TensorLayout& from, const TensorLayout& to, int64_t global_bytes,
                                      const std::vector<int>& axis_sizes);

/// Bytes one rank holds of a tensor of `global_bytes` in `layout` (sharded axes divide it).
int64_t LocalBytes(const TensorLayout& layout, int64_t global_bytes, const std::vector<int>& axis_sizes);

/// "S0(tp) R(dp)" style text for dumps and tests.
std::string LayoutText(const TensorLayout& layout, const std::vector<std::string>& axis_names);

}  // namespace proteus
