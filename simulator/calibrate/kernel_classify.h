// What a PyTorch profiler trace names, in proteus' vocabulary: aten operator calls (name, input
// shapes, input types) become canonical keys (common/op_key.h), GPU kernel names become a category
// (compute, communication, copy). The keys equal the ones simulator/cost/op_mapping.h builds for
// the same operator, so a measured entry replaces the estimate the simulator would make.
//
//   aten call (record_shapes=True)                    key
//   aten::addmm  [[4096], [2048, 4096], [4096, 4096]]  gemm|bf16|fwd|k=4096,m=2048,n=4096|
//   aten::linear [[1, 2048, 4096], [12288, 4096], [12288]]
//                                                     gemm|bf16|fwd|k=4096,m=2048,n=12288|
//   aten::_scaled_dot_product_flash_attention  q [1, 32, 2048, 128] (batch, heads, seq, dim)
//                                                     attention|bf16|fwd|batch=1,head_dim=128,
//                                                     heads=32,kv_heads=32,seq_kv=2048,seq_q=2048|causal=1
//   aten::native_layer_norm [[1, 2048, 4096], [], [4096], [4096], []]
//                                                     layernorm|bf16|fwd|cols=4096,rows=2048|
//
// Forward ops (KeyForAtenCall) by name:
//   mm, addmm, linear, matmul (second operand 2-D)     gemm {m = rows of A, n, k}
//   bmm, baddbmm, matmul (both >= 3-D)                 bgemm {batch, m, n, k}
//   scaled_dot_product_attention, _scaled_dot_product_{flash,efficient,cudnn}_attention
//     (q [b, h, s, d]); _flash_attention_forward, _efficient_attention_forward,
//     flash_attn::_flash_attn_forward (q [b, s, h, d])  attention, causal from "Concrete Inputs"
//   layer_norm, native_layer_norm / rms_norm, _fused_rms_norm   layernorm / rmsnorm {rows, cols}
//   softmax, _softmax                                  softmax {rows, cols = the softmax dim}
//   gelu (approximate='tanh' -> attrs fn=tanh), relu (gelu, fn=relu: op_mapping.cc's convention)
//   dropout, native_dropout / add, add_                dropout / add {elements}
//   embedding                                          embedding {tokens, vocab, hidden}
//   cross_entropy_loss                                 cross_entropy {tokens, vocab = dim 1}
//   _fused_adam_, _fused_adamw_                        adam {params} (phase step)
// The dtype is the first floating "Input type" (c10::BFloat16 bf16, c10::Half fp16, float fp32,
// c10::Float8_e4m3fn, c10::Float8_e5m2), else the caller's default (tf32 cannot be told from fp32).
//
// Backward: a backward node is keyed as its forward op with a backward phase (BackwardPhase): a
// gemm's half is told by the product's output shape (dgrad writes the input's [m, k], wgrad the
// weight's [k, n] or [n, k]); norms put the gamma/beta kernels in bwd_weight; an embedding's
// backward is bwd_weight; everything else is bwd_data. KeyForBackwardAtenCall keys the explicit
// backward ops (gelu_backward, native_layer_norm_backward, the attention backwards, ...) for when
// the forward op is not in the trace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"
#include "common/op_key.h"

namespace proteus {

/// Where a GPU activity's time goes in the trace summary.
enum class KernelCategory { kCompute, kCommunication, kCopy };
std::string_view KernelCategoryName(KernelCategory c);  // "compute", "communication", "copy"

/// Category of a GPU activity from its trace category ("kernel", "gpu_memcpy", "gpu_memset", any
/// capitalization) and name: NCCL kernels ("ncclDevKernel_...", "ncclKernel_...") communicate,
/// memcpy/memset activities (and kernels named "Memcpy ..."/"Memset ...") copy, the rest computes.
KernelCategory ClassifyKernel(std::string_view activity_category, std::string_view kernel_name);

/// The collective a NCCL kernel runs: "all_reduce", "all_gather", "reduce_scatter", "broadcast",
/// "reduce", "sendrecv" (also Send/Recv), "alltoall"; "" when the name says none of them.
std::string CollectiveOfKernel(std::string_view kernel_name);

/// One input of an aten call as record_shapes writes it.
struct AtenInput {
  std::vector<int64_t> dims;               // a tensor's sizes (empty: a scalar, a list, None)
  std::vector<std::vector<int64_t>> list;  // a TensorList input: the sizes of each tensor
  std::string type;                        // "c10::BFloat16", "float", "long int", "Scalar", "TensorList", ""
  std::string concrete;                    // its "Concrete Inputs" text ("True", "[4096]", "tanh"), or ""
};

/// One aten (or custom) operator call.
struct AtenCall {
  std::string name;                 // "aten::addmm"
  std::vector<AtenInput> inputs;    // in argument order
};

struct AtenKeyOptions {
  DType default_dtype = DType::kBf16;  // when no input has a floating type
  bool default_causal = true;          // attention whose is_causal was not recorded
};

/// The forward key of `call` (phase fwd; step for fused Adam), or nullopt when the op is not one of
/// the table above or its shapes do not fit it (too few inputs, wrong ranks).
std::optional<OpKey> KeyForAtenCall(const AtenCall& call, const AtenKeyOptions& options);

/// The key of an explicit backward op (gelu_backward, native_dropout_backward, _softmax_backward_data,
/// native_layer_norm_backward, embedding_dense_backward, the attention backwards), for when the
/// forward op cannot be found. `kernel` picks a norm's half as BackwardPhase does. Nullopt otherwise.
std::optional<OpKey> KeyForBackwardAtenCall(const AtenCall& call, const AtenKeyOptions& options,
                                            std::string_view kernel);

/// True for the ops that start an autograd node's work: "autograd::engine::evaluate_function: X"
/// and node names ending in "Backward<N>" ("MmBackward0").
bool IsBackwardNode(std::string_view op_name);

/// True for the matrix products whose output shape tells a gemm's backward halves apart (mm,
/// addmm, bmm, baddbmm, matmul).
bool IsProductOp(std::string_view op_name);

/// The backward phase of a kernel run for forward key `forward` inside its autograd node.
/// `product` is the product op that launched it (IsProductOp), or null; `product_index` counts the
/// products of the node before it (0 for the first), which decides when the shape cannot (m == n:
/// PyTorch's mm backward computes the input's gradient first). `inner` is the innermost op of the
/// kernel (aten::sum reduces a bias gradient: bwd_weight). `kernel` is the kernel's name.
Phase BackwardPhase(const OpKey& forward, const AtenCall* product, int product_index, const AtenCall* inner,
                    std::string_view kernel);

/// The output sizes of a product op call (mm [m, n], addmm, bmm, baddbmm, matmul with broadcast),
/// or nullopt when its inputs do not have the ranks it needs.
std::optional<std::vector<int64_t>> ProductOutputDims(const AtenCall& call);

/// DType named by a profiler "Input type" string; nullopt for integers, bool, double, "Scalar", "".
std::optional<DType> DTypeOfTraceType(std::string_view type);

}  // namespace proteus
