// Transformer Engine fp8 GEMMs in compiled programs (simulator/compile/fp8_gemm.h), on the 2-layer
// test GPT (h 64, 4 heads, seq 16, ffn 256, vocab 128): per layer the Linear GEMMs are
//   qkv  m=16 k=64  n=192     proj m=16 k=64 n=64     fc1 m=16 k=64 n=256     fc2 m=16 k=256 n=64
// (m = micro-batch 1 x seq 16 tokens), and the LM head (k=64, n=128) stays bf16.
#include "simulator/compile/fp8_gemm.h"

#include <gtest/gtest.h>

#include <map>

#include "common/error.h"
#include "simulator/cost/op_mapping.h"
#include "tests/compile/compile_fixture.h"

namespace proteus {
namespace {

using testing::FakeCoster;
using testing::SmallGpt;

// The fake coster, with the canonical key of every operator phase (so tests can read the dtype
// each task was priced in).
class KeyedCoster : public FakeCoster {
 public:
  TaskCost Cost(const Operator& local, Phase phase) const override {
    TaskCost c = FakeCoster::Cost(local, phase);
    if (OperatorRunsPhase(local, phase)) c.key = KeyForOperator(local, phase).ToString();
    return c;
  }
};

struct Fp8Job {
  Model model = SmallGpt(2);
  Strategy strategy;
  Cluster cluster;
  testing::FakeCollectives collectives;
  KeyedCoster coster;

  Fp8Job(const std::string& fp8, const std::string& scaling = "", int64_t gbs = 1, int tp = 1, Model m = SmallGpt(2),
         bool sp = false, const std::string& recompute = "none")
      : model(std::move(m)) {
    ShorthandOptions o;
    o.tp = tp;
    o.sequence_parallel = sp;
    o.recompute = recompute;
    o.global_batch = gbs;
    o.fp8 = fp8;
    o.fp8_scaling = scaling;
    strategy = ExpandShorthand(model, o);
    cluster = testing::FakeCluster(tp);
  }
  CompileResult Run() const {
    CompileInputs in;
    in.model = &model;
    in.strategy = &strategy;
    in.cluster = &cluster;
    in.collectives = &collectives;
    in.coster = &coster;
    in.gpu_memory = [](GpuId) { return int64_t{80} << 30; };
    return Compile(in, {});
  }
};

std::string KeyOf(const ExecGraph& g, const Task& t) { return t.cost_key < 0 ? "" : g.names[t.cost_key]; }
std::string Name(const ExecGraph& g, const Task& t) { return std::string(g.NameOf(t)); }
bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The key of a d2d copy of `bytes`: what a cast or amax kernel is priced as.
std::string CopyKey(int64_t bytes) {
  OpKey k;
  k.kind = "copy";
  k.dtype = DType::kBf16;
  k.phase = Phase::kFwd;
  k.shape = {{"bytes", bytes}};
  k.attrs = {{"dir", "d2d"}};
  return k.ToString();
}

TEST(Fp8Gemm, EveryBlockLinearGemmIsPricedInFp8AndNothingElse) {
  CompileResult r = Fp8Job("e4m3").Run();
  const ExecGraph& g = r.graph;
  int fp8_gemms = 0;
  for (const auto& t : g.tasks) {
    std::string key = KeyOf(g, t), name = Name(g, t);
    bool block_gemm = key.rfind("gemm|", 0) == 0 && name.rfind("layers.", 0) == 0;
    if (block_gemm) {
      EXPECT_EQ(key.substr(0, 14), "gemm|fp8_e4m3|") << name;
      ++fp8_gemms;
    } else {
      EXPECT_FALSE(Has(key, "fp8")) << name << " " << key;  // LM head, attention, norms, optimizer
    }
  }
  // 2 layers x 4 Linears x (fwd, bwd_data, bwd_weight), one micro-batch.
  EXPECT_EQ(fp8_gemms, 24);
  // Without --fp8 no key is fp8.
  CompileResult plain = Fp8Job("").Run();
  for (const auto& t : plain.graph.tasks) EXPECT_FALSE(Has(KeyOf(plain.graph, t), "fp8"));
}

TEST(Fp8Gemm, HybridPricesBackwardGemmsInE5m2) {
  CompileResult r = Fp8Job("hybrid").Run();
  const ExecGraph& g = r.graph;
  std::map<Phase, int> e4m3, e5m2;
  for (const auto& t : g.tasks) {
    std::string key = KeyOf(g, t);
    if (Has(key, "gemm|fp8_e4m3|")) ++e4m3[t.phase];
    if (Has(key, "gemm|fp8_e5m2|")) ++e5m2[t.phase];
  }
  EXPECT_EQ(e4m3[Phase::kFwd], 8);
  EXPECT_EQ(e4m3[Phase::kBwdData] + e4m3[Phase::kBwdWeight], 0);
  EXPECT_EQ(e5m2[Phase::kBwdData], 8);
  EXPECT_EQ(e5m2[Phase::kBwdWeight], 8);
  EXPECT_EQ(e5m2[Phase::kFwd], 0);
}

TEST(Fp8Gemm, CastKernelsMoveTheTensorsBytes) {
  // Two micro-batches: the weight is cast once per iteration, input and gradient per micro-batch.
  CompileResult r = Fp8Job("e4m3", "", 2).Run();
  const ExecGraph& g = r.graph;
  std::map<std::string, std::vector<const Task*>> casts;
  for (const auto& t : g.tasks)
    if (Has(Name(g, t), "layers.0.mlp.fc1 fp8")) casts[Name(g, t)].push_back(&t);
  ASSERT_EQ(casts.size(), 3u);
  // fc1: X 16x64, W 64x256, dY 16x256 bf16 elements; a cast_transpose reads 2 and writes 1 + 1
  // bytes per element: the copy moving as much is e * 4 / 2 bytes.
  const auto& in = casts["layers.0.mlp.fc1 fp8 cast_transpose input"];
  const auto& w = casts["layers.0.mlp.fc1 fp8 cast_transpose weight"];
  const auto& dy = casts["layers.0.mlp.fc1 fp8 cast_transpose grad"];
  ASSERT_EQ(in.size(), 2u);
  ASSERT_EQ(w.size(), 1u);
  ASSERT_EQ(dy.size(), 2u);
  EXPECT_EQ(w[0]->microbatch, 0);
  EXPECT_EQ(KeyOf(g, *in[0]), CopyKey(16 * 64 * 2));    // 2,048
  EXPECT_EQ(KeyOf(g, *w[0]), CopyKey(64 * 256 * 2));    // 32,768
  EXPECT_EQ(KeyOf(g, *dy[0]), CopyKey(16 * 256 * 2));   // 8,192
  EXPECT_EQ(in[0]->phase, Phase::kFwd);
  EXPECT_EQ(dy[0]->phase, Phase::kBwdData);
  // Priced by the coster's KeyCost: 1 us + bytes / 1 TB/s.
  EXPECT_DOUBLE_EQ(w[0]->duration_s, 1e-6 + 32768 / 1e12);
  EXPECT_EQ(in[0]->flops, 0);
  // Every fp8 Linear has these three casts; nothing else is cast.
  int cast_tasks = 0;
  for (const auto& t : g.tasks) cast_tasks += Has(Name(g, t), " fp8 cast_transpose ");
  EXPECT_EQ(cast_tasks, 2 * 4 * (2 + 1 + 2));  // layers x Linears x (2 inputs, 1 weight, 2 grads)
}

TEST(Fp8Gemm, CurrentScalingAddsAnAmaxPassBeforeEachCast) {
  CompileResult delayed = Fp8Job("e4m3", "delayed", 2).Run();
  for (const auto& t : delayed.graph.tasks) EXPECT_FALSE(Has(Name(delayed.graph, t), " fp8 amax "));
  CompileResult r = Fp8Job("e4m3", "current", 2).Run();
  const ExecGraph& g = r.graph;
  int amax = 0;
  for (size_t i = 0; i < g.tasks.size(); ++i) {
    std::string name = Name(g, g.tasks[i]);
    if (!Has(name, " fp8 amax ")) continue;
    ++amax;
    // The amax pass reads the bf16 tensor (2 bytes per element: a copy of half as many bytes) and
    // the cast of the same tensor follows it on the compute stream.
    std::string cast = name;
    cast.replace(cast.find(" amax "), 6, " cast_transpose ");
    ASSERT_LT(i + 1, g.tasks.size());
    EXPECT_EQ(Name(g, g.tasks[i + 1]), cast);
    if (name == "layers.1.mlp.fc2 fp8 amax input") {
      EXPECT_EQ(KeyOf(g, g.tasks[i]), CopyKey(16 * 256));
    }
  }
  EXPECT_EQ(amax, 2 * 4 * (2 + 1 + 2));
}

int64_t WeightMemory(const CompileResult& r) {
  return r.graph.gpus[0].static_memory[static_cast<int>(MemCategory::kWeights)];
}

TEST(Fp8Gemm, WeightCopiesCostTwoBytesPerFp8GemmWeightElement) {
  // Per layer: qkv 64x192 + proj 64x64 + fc1 64x256 + fc2 256x64 = 49,152 weight elements; two
  // layers, 2 bytes each (fp8 copy + fp8 transpose): 196,608 bytes. Biases and the LM head add none.
  EXPECT_EQ(WeightMemory(Fp8Job("e4m3").Run()) - WeightMemory(Fp8Job("").Run()), 196608);
  // TP 2 splits every block weight: half the copies per GPU.
  EXPECT_EQ(WeightMemory(Fp8Job("hybrid", "", 1, 2).Run()) - WeightMemory(Fp8Job("", "", 1, 2).Run()), 98304);
}

int64_t ForwardActivationBytes(const CompileResult& r) {
  const ExecGraph& g = r.graph;
  int64_t bytes = 0;
  for (const auto& t : g.tasks) {
    if (t.gpu != 0 || t.phase != Phase::kFwd) continue;
    for (int k = 0; k < t.mem_count; ++k) {
      const MemEffect& e = g.mem_effects[t.mem_begin + k];
      if (e.category == MemCategory::kActivations && e.bytes > 0) bytes += e.bytes;
    }
  }
  return bytes;
}

TEST(Fp8Gemm, LinearInputsAreKeptInFp8) {
  // Per layer, kept inputs (tokens 16): qkv 16x64 and fc1 16x64 shrink from 2 to 1 byte (-1,024
  // each); fc2's 16x256 too (-4,096); proj's input is the attention output, which the attention
  // core keeps in bf16 for its own backward, so proj's fp8 transpose is a new 1,024 bytes.
  // -1,024 - 4,096 - 1,024 + 1,024 = -5,120 per layer, two layers.
  EXPECT_EQ(ForwardActivationBytes(Fp8Job("e4m3").Run()) - ForwardActivationBytes(Fp8Job("").Run()), -2 * 5120);
}

TEST(Fp8Gemm, RecomputationCastsInputsAgainButNotWeights) {
  CompileResult r = Fp8Job("e4m3", "", 1, 1, SmallGpt(2), false, "full").Run();
  int inputs = 0, weights = 0;
  for (const auto& t : r.graph.tasks) {
    std::string name = Name(r.graph, t);
    inputs += Has(name, "fp8 cast_transpose input recompute");
    weights += Has(name, "fp8 cast_transpose weight recompute");
  }
  EXPECT_EQ(inputs, 2 * 4);  // every block Linear's input, once per recomputed forward
  EXPECT_EQ(weights, 0);     // the cached fp8 weights are reused
}

TEST(Fp8Gemm, SequenceParallelInputsAreStillKeptShardedAndGatheredAgain) {
  // With sp the qkv and fc1 inputs are kept sequence-sharded and re-gathered for the weight
  // gradient; keeping them in fp8 must not lose that.
  auto regathers = [](const CompileResult& r) {
    int n = 0;
    for (const auto& t : r.graph.tasks) n += Has(Name(r.graph, t), " regather ");
    return n;
  };
  CompileResult plain = Fp8Job("", "", 1, 2, SmallGpt(2), true).Run();
  CompileResult fp8 = Fp8Job("e4m3", "", 1, 2, SmallGpt(2), true).Run();
  EXPECT_GT(regathers(plain), 0);
  EXPECT_EQ(regathers(fp8), regathers(plain));
  // Kept per layer on one of 2 GPUs (tokens 16, sharded 8 where sp shards): qkv and fc1 inputs
  // 8x64 at 1 byte instead of 2 (-512 each), fc2's 16x128 (-2,048), proj's new fp8 copy of the
  // 16x32 attention output (+512): -2,560 per layer.
  EXPECT_EQ(ForwardActivationBytes(fp8) - ForwardActivationBytes(plain), -2 * 2560);
}

TEST(Fp8Gemm, ShapesTransformerEngineCannotRunAreRefused) {
  TransformerConfig c;
  c.name = "odd-gpt";
  c.num_layers = 1;
  c.hidden = 64;
  c.num_heads = 4;
  c.vocab = 128;
  c.seq_len = 12;  // m = 12 tokens: not a multiple of 8
  Model odd = BuildTransformer(c, "test");
  try {
    Fp8Job("e4m3", "", 1, 1, odd).Run();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "--fp8");
    EXPECT_TRUE(Has(e.what(), "layers.0.attn.qkv")) << e.what();
    EXPECT_TRUE(Has(e.what(), "m=12")) << e.what();
  }
  // The same model in bf16 compiles.
  EXPECT_NO_THROW(Fp8Job("", "", 1, 1, odd).Run());
}

TEST(Fp8Gemm, OnlyTransformerBlockLinearsAreFp8Gemms) {
  Fp8Recipe on{Fp8Format::kE4M3, Fp8Scaling::kDelayed};
  Operator linear;
  linear.kind = OpKind::kLinear;
  EXPECT_TRUE(IsFp8Gemm("layers.3.mlp.fc1", linear, on));
  EXPECT_FALSE(IsFp8Gemm("lm_head.logits", linear, on));
  EXPECT_FALSE(IsFp8Gemm("pooler.dense", linear, on));
  EXPECT_FALSE(IsFp8Gemm("layers.3.mlp.fc1", linear, Fp8Recipe{}));
  Operator attention = linear;
  attention.kind = OpKind::kAttention;
  EXPECT_FALSE(IsFp8Gemm("layers.3.attn.core", attention, on));
  EXPECT_EQ(Fp8GemmDtype(Phase::kBwdData, {Fp8Format::kHybrid, Fp8Scaling::kDelayed}), DType::kFp8E5M2);
  EXPECT_EQ(Fp8GemmDtype(Phase::kFwd, {Fp8Format::kHybrid, Fp8Scaling::kDelayed}), DType::kFp8E4M3);
  EXPECT_EQ(Fp8GemmDtype(Phase::kBwdWeight, on), DType::kFp8E4M3);
  EXPECT_EQ(Fp8SavedSource("layers.0.mlp.fc2.in#fp8"), "layers.0.mlp.fc2.in");
  EXPECT_EQ(Fp8SavedSource("layers.0.attn.qkv.out#q"), "layers.0.attn.qkv.out#q");
}

TEST(Fp8Gemm, PrecisionLabelsTellTransformerEngineFromWholeModelFp8) {
  EXPECT_EQ(PrecisionLabel(DType::kBf16, {}), "bf16");
  EXPECT_EQ(PrecisionLabel(DType::kBf16, {Fp8Format::kE4M3, Fp8Scaling::kDelayed}),
            "bf16 + fp8 GEMMs (TE e4m3, delayed scaling)");
  EXPECT_EQ(PrecisionLabel(DType::kBf16, {Fp8Format::kHybrid, Fp8Scaling::kCurrent}),
            "bf16 + fp8 GEMMs (TE hybrid, current scaling)");
  EXPECT_EQ(PrecisionLabel(DType::kFp8E4M3, {}), "fp8_e4m3 (whole-model fp8, not Transformer Engine)");
}

TEST(Fp8Gemm, GpusWithoutFp8TensorCoresAreRefused) {
  Model m = SmallGpt(1);
  Fp8Recipe hybrid{Fp8Format::kHybrid, Fp8Scaling::kDelayed};
  GpuSpec a100 = LoadGpuSpec("A100-SXM4-80GB");
  GpuSpec h100 = LoadGpuSpec("H100-SXM5-80GB");
  EXPECT_NO_THROW(CheckFp8Supported(hybrid, m, h100, "--fp8"));
  EXPECT_NO_THROW(CheckFp8Supported({}, m, a100, "--fp8"));
  try {
    CheckFp8Supported(hybrid, m, a100, "s.json: precision.fp8");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.where(), "s.json: precision.fp8");
    EXPECT_TRUE(Has(e.what(), "A100-SXM4-80GB")) << e.what();
  }
  Model whole = m;
  whole.dtype = DType::kFp8E4M3;
  EXPECT_THROW(CheckFp8Supported(hybrid, whole, h100, "--fp8"), UserError);
}

}  // namespace
}  // namespace proteus
