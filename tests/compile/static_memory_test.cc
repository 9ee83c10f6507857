#include "simulator/compile/static_memory.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "simulator/model/zoo.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::MakeJob;

PrecisionSettings Grads(DType main_grads, ParamStorage params = ParamStorage::kCompute) {
  PrecisionSettings p;
  p.main_grads = main_grads;
  p.params = params;
  return p;
}

double PerParam(DType compute, const PrecisionSettings& p, int w, int g, int o) {
  return StaticBytesPerParam(compute, p, {w, g, o});
}

// Megatron-Core, docs/source/api-guide/dist_optimizer.md: bytes per parameter without and with the
// distributed optimizer (d = data-parallel size).
TEST(StaticMemory, MegatronCoreTable) {
  const PrecisionSettings fp32_grads = Grads(DType::kFp32);
  for (int d : {2, 8, 16, 64}) {
    // bf16 (or fp16) params, fp32 main grads: 18 and 6 + 12/d.
    EXPECT_DOUBLE_EQ(PerParam(DType::kBf16, fp32_grads, 1, 1, 1), 18);
    EXPECT_NEAR(PerParam(DType::kBf16, fp32_grads, 1, 1, d), 6 + 12.0 / d, 1e-9);
    EXPECT_NEAR(PerParam(DType::kFp16, fp32_grads, 1, 1, d), 6 + 12.0 / d, 1e-9);
    // fp32 params, fp32 grads: 16 and 8 + 8/d (no separate master copy).
    EXPECT_DOUBLE_EQ(PerParam(DType::kFp32, fp32_grads, 1, 1, 1), 16);
    EXPECT_NEAR(PerParam(DType::kFp32, fp32_grads, 1, 1, d), 8 + 8.0 / d, 1e-9);
    // 16-bit main grads: the table's 20 and 4 + 16/d count the optimizer's fp32 copy of the grads,
    // which proteus allocates for the step only: 16 + 4 and 4 + 12/d + 4/d.
    const PrecisionSettings half = Grads(DType::kFp16);
    ParamStateBytes b = ParamStateOf(1'000'000'000, DType::kFp16, half, {1, 1, d});
    double stat = (b.weights + b.grads + b.optimizer) / 1e9, step = b.step_grad_copy / 1e9;
    EXPECT_NEAR(stat, 4 + 12.0 / d, 1e-9);
    EXPECT_NEAR(stat + step, 4 + 16.0 / d, 1e-9);
    ParamStateBytes whole = ParamStateOf(1'000'000'000, DType::kFp16, half, {1, 1, 1});
    EXPECT_EQ(whole.weights + whole.grads + whole.optimizer + whole.step_grad_copy, 20'000'000'000);
  }
}

// DeepSpeed ZeRO (Rajbhandari et al. 2020, sec. 5, K = 12), 16-bit gradients, N = dp ranks.
TEST(StaticMemory, DeepSpeedZeroStages) {
  const PrecisionSettings ds = Grads(DType::kBf16);
  for (int n : {4, 64, 1024}) {
    EXPECT_DOUBLE_EQ(PerParam(DType::kBf16, ds, 1, 1, 1), 2 + 2 + 12);       // stage 0
    EXPECT_NEAR(PerParam(DType::kBf16, ds, 1, 1, n), 2 + 2 + 12.0 / n, 1e-9);  // 1: optimizer states
    EXPECT_NEAR(PerParam(DType::kBf16, ds, 1, n, n), 2 + 14.0 / n, 1e-9);      // 2: + gradients
    EXPECT_NEAR(PerParam(DType::kBf16, ds, n, n, n), 16.0 / n, 1e-9);          // 3: + parameters
  }
  // The paper's example: 7.5B parameters, N = 64: 120 GB, 31.4 GB, 16.6 GB, 1.9 GB.
  const double psi = 7.5e9;
  EXPECT_NEAR(psi * PerParam(DType::kBf16, ds, 1, 1, 1) / 1e9, 120, 0.05);
  EXPECT_NEAR(psi * PerParam(DType::kBf16, ds, 1, 1, 64) / 1e9, 31.4, 0.05);
  EXPECT_NEAR(psi * PerParam(DType::kBf16, ds, 1, 64, 64) / 1e9, 16.6, 0.05);
  EXPECT_NEAR(psi * PerParam(DType::kBf16, ds, 64, 64, 64) / 1e9, 1.9, 0.05);
}

// A hand-built ZeRO-3 layout (weights, grads and optimizer sharded:dp) divides everything by dp.
TEST(StaticMemory, ZeroThreeIsSixteenOverDp) {
  for (int dp : {2, 8, 32}) {
    ParamStateBytes b = ParamStateOf(int64_t{1} << 30, DType::kBf16, Grads(DType::kBf16), {dp, dp, dp});
    EXPECT_EQ(b.weights, 2 * (int64_t{1} << 30) / dp);
    EXPECT_EQ(b.grads, 2 * (int64_t{1} << 30) / dp);
    EXPECT_EQ(b.optimizer, 12 * (int64_t{1} << 30) / dp);
    EXPECT_EQ(b.weights + b.grads + b.optimizer, 16 * (int64_t{1} << 30) / dp);
  }
}

// PyTorch FSDP2 (MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32)): sharded fp32 params,
// fp32 grads and Adam states, 4/N + 4/N + 8/N; no fp32 copy at the step.
TEST(StaticMemory, Fsdp2KeepsShardedFp32Params) {
  const int n = 16;
  ParamStateBytes b = ParamStateOf(int64_t{1} << 30, DType::kBf16, Grads(DType::kFp32, ParamStorage::kFp32), {n, n, n});
  EXPECT_EQ(b.weights, 4 * (int64_t{1} << 30) / n);
  EXPECT_EQ(b.grads, 4 * (int64_t{1} << 30) / n);
  EXPECT_EQ(b.optimizer, 8 * (int64_t{1} << 30) / n);
  EXPECT_EQ(b.step_grad_copy, 0);
  EXPECT_NEAR(PerParam(DType::kBf16, Grads(DType::kFp32, ParamStorage::kFp32), n, n, n), 16.0 / n, 1e-9);
}

// Megatron's theoretical_memory_usage.py: weight and optimizer bytes of the most loaded shard =
// (transformer params / pp + embedding) / tp x bytes per parameter (18, or 6 + 12/dp with the
// distributed optimizer). Compared with what the compiler allocates on the first pipeline rank.
struct MegatronCase {
  const char* model;
  int tp, pp, dp;
  bool distributed_optimizer;
  double layer_params;  // per transformer layer, by hand
  double embedding;     // word (+ position) embedding rows x hidden
};

double MegatronBytes(const MegatronCase& c, int layers) {
  double params = (c.layer_params * layers / c.pp + c.embedding) / c.tp;
  return params * (c.distributed_optimizer ? 6 + 12.0 / c.dp : 18);
}

TEST(StaticMemory, WithinTwoPercentOfMegatronFormula) {
  const double h175 = 12288, h70 = 8192, h13 = 2048;
  // GPT: 12 h^2 + 13 h per layer (qkv, proj, fc1, fc2 with biases, two LayerNorms); vocab 51200 and
  // 2048 learned positions. Llama-3 70B: q, o h^2; k, v h x 1024 (8 KV heads); SwiGLU 3 h x 28672;
  // two RMSNorms; vocab 128256.
  const double gpt175_layer = 12 * h175 * h175 + 13 * h175, gpt13_layer = 12 * h13 * h13 + 13 * h13;
  const double llama_layer = 2 * h70 * h70 + 2 * h70 * 1024 + 3 * h70 * 28672 + 2 * h70;
  const MegatronCase cases[] = {
      {"gpt3-175b", 8, 8, 16, false, gpt175_layer, (51200 + 2048) * h175},
      {"gpt3-175b", 8, 8, 16, true, gpt175_layer, (51200 + 2048) * h175},
      {"llama3-70b", 8, 4, 4, true, llama_layer, 128256 * h70},
      {"gpt3-1.3b", 1, 1, 8, false, gpt13_layer, (51200 + 2048) * h13},
      {"gpt3-1.3b", 1, 1, 8, true, gpt13_layer, (51200 + 2048) * h13},
  };
  for (const auto& c : cases) {
    Model m = BuildZooModel(c.model);
    ShorthandOptions o;
    o.tp = c.tp, o.pp = c.pp, o.dp = c.dp, o.zero = c.distributed_optimizer ? 1 : 0;
    CompileResult r = MakeJob(m, o).Run();
    const auto& mem = r.graph.gpus[0].static_memory;  // pipeline rank 0: embedding + its layers
    double got = static_cast<double>(mem[0] + mem[1] + mem[2]);
    double want = MegatronBytes(c, static_cast<int>(m.num_layers));
    std::printf("%s tp%d pp%d dp%d %s: proteus %.3f GiB, Megatron formula %.3f GiB\n", c.model, c.tp, c.pp, c.dp,
                c.distributed_optimizer ? "distributed optimizer" : "replicated optimizer", got / (1 << 30),
                want / (1 << 30));
    EXPECT_NEAR(got / want, 1.0, 0.02) << c.model;
  }
}

// Default accounting through the compiler: 18 bytes/param (fp32 main grads), 16-bit grads with the
// fp32 copy allocated by the optimizer step and freed when it ends.
TEST(StaticMemory, StepCopyIsATransientOfTheOptimizerStep) {
  Model m = testing::SmallGpt(2);
  ShorthandOptions o;
  o.dp = 2;
  o.zero = 1;
  o.precision.main_grads = DType::kBf16;
  CompileResult r = MakeJob(m, o).Run();
  const ExecGraph& g = r.graph;
  int64_t alloc = 0, freed = 0;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || g.NameOf(t) != "optimizer step") continue;
    for (int i = t.mem_begin; i < t.mem_begin + t.mem_count; ++i) {
      const MemEffect& e = g.mem_effects[i];
      EXPECT_EQ(e.category, MemCategory::kOptimizer);
      (e.bytes > 0 ? alloc : freed) += e.bytes;
      EXPECT_EQ(e.at_end, e.bytes < 0);
    }
  }
  EXPECT_EQ(alloc, 4 * m.Params() / 2);  // fp32 copy of this rank's half of the gradients
  EXPECT_EQ(freed, -alloc);
}

}  // namespace
}  // namespace proteus
