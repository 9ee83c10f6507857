// The default sweep: the operator keys a node profile measures when no manifest is given.
//
// It covers the model zoo (zoo_shapes.h) under tensor parallelism tp in {1,2,4,8} (where heads,
// kv heads and ffn divide), micro-batch {1,2,4,8} and sequence 512..8192:
//   tokens per micro-batch T = mbs * seq -> the power-of-two grid 512..65536 (rows of norms also
//   128 and 256, the sequence-parallel shards T/tp);
//   per (model, tp): gemm m = T with (n, k) = qkv (((heads + 2 kv_heads) hd / tp, hidden)), proj
//   (hidden, hidden/tp), fc1 (ffn/tp, x2 when gated, hidden), fc2 (hidden, ffn/tp), logits
//   (vocab/tp padded, hidden), each fwd, bwd_data, bwd_weight;
//   attention (batch = mbs, heads/tp, kv heads/tp, seq, head dim, causal), fwd and bwd_data;
//   norms (rows = T or T/tp, cols = hidden), swiglu/gelu/dropout/add/rope/embedding/cross-entropy
//   at the same tokens; Adam over 2^16..2^30 parameters; ResNet-50's convolutions, batchnorms and
//   pools at batch 32..256; copies 1 KB..1 GB in every direction.
// Primary dtype bf16 (all of the above). Secondary dtypes (fp16, tf32, fp32 and fp8_e4m3 where the
// GPU has it) get gemm on a cube grid m, n, k in {512..16384} and attention at one model shape, so
// that the simulator can scale the bf16 results. ResNet ops run in fp16 and tf32/fp32.
// Every key whose estimated call time (device_presets.h roofline) exceeds max_call_s is dropped:
// the simulator extrapolates those linearly from the largest measured shapes (docs/profiler.md).
#pragma once

#include <vector>

#include "common/op_key.h"
#include "profiler/device_presets.h"

namespace proteus::profiler {

struct SweepOptions {
  std::vector<int64_t> tp = {1, 2, 4, 8};
  std::vector<int64_t> micro_batch = {1, 2, 4, 8};
  std::vector<int64_t> seq = {512, 1024, 2048, 4096, 8192};
  std::vector<int64_t> cnn_batch = {32, 64, 128, 256};
  double max_call_s = 0.02;          // drop keys estimated slower than this per call
  bool secondary_dtypes = true;      // fp16 / tf32 / fp32 / fp8 grids
  int gpus = 1;                      // local GPUs: peer copies only with two or more
};

/// The default sweep for `device`: canonical, unique keys, grouped by kind (so library handles and
/// plans are reused) and ascending in size within a kind. Deterministic.
std::vector<OpKey> DefaultSweep(const DevicePreset& device, const SweepOptions& opt = {});

/// Estimated time of one call of `key` on `device` (the roofline of device_presets.h).
double EstimateCallSeconds(const OpKey& key, const DevicePreset& device);

}  // namespace proteus::profiler
