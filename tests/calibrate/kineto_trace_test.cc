// Kineto trace reader: each aten mapping, backward through sequence numbers, the iteration
// summary arithmetic, unmapped kernels, both spellings of the categories, and every error.
#include "simulator/calibrate/kineto_trace.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/calibrate/kernel_classify.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

constexpr double kUs = 1e-6;

// Builds a Kineto-shaped trace: cpu_op events, and per kernel a cudaLaunchKernel runtime event on
// the CPU thread (inside the op) and the kernel on the GPU with the same correlation id.
class TraceBuilder {
 public:
  explicit TraceBuilder(std::string op_cat = "cpu_op", std::string rt_cat = "cuda_runtime",
                        std::string kernel_cat = "kernel")
      : op_cat_(std::move(op_cat)), rt_cat_(std::move(rt_cat)), kernel_cat_(std::move(kernel_cat)) {}

  /// An op on CPU thread `tid` over [ts, ts + dur] us; `args` holds Input Dims etc.
  TraceBuilder& Op(const std::string& name, double ts, double dur, Json args = Json::object(), int tid = 1) {
    args["External id"] = next_external_++;
    events_.push_back({{"ph", "X"}, {"cat", op_cat_}, {"name", name}, {"pid", 100}, {"tid", tid}, {"ts", ts},
                       {"dur", dur}, {"args", args}});
    return *this;
  }
  /// A kernel launched at CPU time `launch` (1 us long call) on thread `tid`, running on the GPU over
  /// [ts, ts + dur] on device `device`.
  TraceBuilder& Kernel(const std::string& name, double launch, double ts, double dur, int tid = 1, int device = 0,
                       std::string cat = "") {
    int corr = next_correlation_++;
    events_.push_back({{"ph", "X"}, {"cat", rt_cat_}, {"name", "cudaLaunchKernel"}, {"pid", 100}, {"tid", tid},
                       {"ts", launch}, {"dur", 1.0}, {"args", {{"correlation", corr}}}});
    events_.push_back({{"ph", "X"}, {"cat", cat.empty() ? kernel_cat_ : cat}, {"name", name}, {"pid", device},
                       {"tid", 7}, {"ts", ts}, {"dur", dur},
                       {"args", {{"correlation", corr}, {"device", device}, {"stream", 7}, {"grid", {1, 1, 1}}}}});
    return *this;
  }
  TraceBuilder& Raw(Json event) {
    events_.push_back(std::move(event));
    return *this;
  }
  Json Doc() const {
    return {{"schemaVersion", 1}, {"traceEvents", events_},
            {"deviceProperties", {{{"id", 0}, {"name", "NVIDIA H100 80GB HBM3"}, {"numSms", 132},
                                   {"computeMajor", 9}, {"computeMinor", 0}, {"totalGlobalMem", 85029158912}}}}};
  }

 private:
  std::string op_cat_, rt_cat_, kernel_cat_;
  std::vector<Json> events_;
  int next_correlation_ = 1;
  int next_external_ = 1;
};

// Args of a recorded op. A `{}` among the dims stands for a non-tensor input's [] (nlohmann reads
// an empty initializer as null). Dims and types are vectors, not Json: a one-element `{bf}` given
// to a Json is an array under GCC but a copy of bf under clang (CWG 2137), which the sanitizer
// build (clang) read as a string.
Json Shapes(std::vector<Json> dims, std::vector<Json> types, Json concrete = nullptr) {
  for (auto& d : dims)
    if (d.is_null()) d = Json::array();
  Json a = {{"Input Dims", Json(std::move(dims))}, {"Input type", Json(std::move(types))}};
  if (!concrete.is_null()) a["Concrete Inputs"] = std::move(concrete);
  return a;
}

KinetoTrace Read(const Json& doc, KinetoOptions options = {}) { return ReadKinetoTraceJson(doc, "trace.json", options); }

std::vector<std::string> Keys(const KinetoTrace& t) {
  std::vector<std::string> keys;
  for (const auto& [k, e] : t.db.ops()) keys.push_back(k);
  return keys;
}

const OpEntry& Only(const KinetoTrace& t) {
  EXPECT_EQ(t.db.ops().size(), 1u) << ::testing::PrintToString(Keys(t));
  return t.db.ops().begin()->second;
}

const OpEntry* Entry(const KinetoTrace& t, const std::string& key) {
  auto it = t.db.ops().find(key);
  return it == t.db.ops().end() ? nullptr : &it->second;
}

// ---- one op, one kernel: each forward mapping ----

struct MappingCase {
  std::string op;
  std::vector<Json> dims, types;  // vectors: see Shapes
  Json concrete;
  std::string key;
};

TEST(KinetoTrace, MapsEachForwardOpToTheSimulatorsKey) {
  const Json bf = "c10::BFloat16";
  std::vector<MappingCase> cases = {
      {"aten::mm", {{2048, 4096}, {4096, 1024}}, {bf, bf}, nullptr, "gemm|bf16|fwd|k=4096,m=2048,n=1024|"},
      {"aten::addmm", {{1024}, {2048, 4096}, {4096, 1024}}, {bf, bf, bf, "Scalar", "Scalar"}, nullptr,
       "gemm|bf16|fwd|k=4096,m=2048,n=1024|"},
      {"aten::linear", {{1, 2048, 4096}, {12288, 4096}, {12288}}, {bf, bf, bf}, nullptr,
       "gemm|bf16|fwd|k=4096,m=2048,n=12288|"},
      {"aten::matmul", {{2, 1024, 4096}, {4096, 512}}, {"c10::Half", "c10::Half"}, nullptr,
       "gemm|fp16|fwd|k=4096,m=2048,n=512|"},
      {"aten::bmm", {{32, 2048, 128}, {32, 128, 2048}}, {bf, bf}, nullptr,
       "bgemm|bf16|fwd|batch=32,k=128,m=2048,n=2048|"},
      {"aten::baddbmm", {{32, 2048, 2048}, {32, 2048, 128}, {32, 128, 2048}}, {bf, bf, bf}, nullptr,
       "bgemm|bf16|fwd|batch=32,k=128,m=2048,n=2048|"},
      {"aten::_scaled_dot_product_flash_attention", {{2, 32, 2048, 128}, {2, 8, 2048, 128}, {2, 8, 2048, 128}, {}, {}, {}, {}},
       {bf, bf, bf, "Scalar", "Scalar", "Scalar", ""}, {"", "", "", "0.", "True", "False", ""},
       "attention|bf16|fwd|batch=2,head_dim=128,heads=32,kv_heads=8,seq_kv=2048,seq_q=2048|causal=1"},
      {"aten::_flash_attention_forward", {{1, 1024, 16, 64}, {1, 512, 16, 64}, {1, 512, 16, 64}},
       {bf, bf, bf}, {"", "", "", "", "", "", "", "0.", "False"},
       "attention|bf16|fwd|batch=1,head_dim=64,heads=16,kv_heads=16,seq_kv=512,seq_q=1024|causal=0"},
      {"aten::_efficient_attention_forward", {{1, 1024, 16, 64}, {1, 1024, 16, 64}, {1, 1024, 16, 64}},
       {"float", "float", "float"}, {"", "", "", "", "", "", "", "", "0.", "1"},
       "attention|fp32|fwd|batch=1,head_dim=64,heads=16,kv_heads=16,seq_kv=1024,seq_q=1024|causal=1"},
      {"aten::native_layer_norm", {{1, 2048, 4096}, {}, {4096}, {4096}, {}}, {bf, "", bf, bf, "Scalar"}, nullptr,
       "layernorm|bf16|fwd|cols=4096,rows=2048|"},
      {"aten::layer_norm", {{4, 512, 1024}, {}, {}, {}, {}}, {bf}, {"", "[1024]"},
       "layernorm|bf16|fwd|cols=1024,rows=2048|"},
      {"aten::_softmax", {{1, 32, 2048, 2048}, {}, {}}, {bf, "Scalar", "Scalar"}, {"", "-1", "False"},
       "softmax|bf16|fwd|cols=2048,rows=65536|"},
      {"aten::gelu", {{1, 2048, 16384}, {}}, {bf, ""}, {"", "none"}, "gelu|bf16|fwd|elements=33554432|"},
      {"aten::gelu", {{1, 2048, 16384}, {}}, {bf, ""}, {"", "tanh"}, "gelu|bf16|fwd|elements=33554432|fn=tanh"},
      {"aten::relu", {{64, 1000}}, {"float"}, nullptr, "gelu|fp32|fwd|elements=64000|fn=relu"},
      {"aten::native_dropout", {{1, 2048, 4096}, {}, {}}, {bf, "Scalar", "Scalar"}, nullptr,
       "dropout|bf16|fwd|elements=8388608|"},
      {"aten::add", {{1, 2048, 4096}, {1, 2048, 4096}, {}}, {bf, bf, "Scalar"}, nullptr,
       "add|bf16|fwd|elements=8388608|"},
      {"aten::embedding", {{51200, 4096}, {1, 2048}, {}, {}, {}}, {bf, "long int", "Scalar", "Scalar", "Scalar"},
       nullptr, "embedding|bf16|fwd|hidden=4096,tokens=2048,vocab=51200|"},
      {"aten::cross_entropy_loss", {{2048, 51200}, {2048}, {}, {}, {}, {}}, {"float", "long int"}, nullptr,
       "cross_entropy|fp32|fwd|tokens=2048,vocab=51200|"},
      {"aten::_fused_adam_", {{{4096, 4096}, {4096}}, {{4096, 4096}, {4096}}}, {"TensorList", "TensorList"}, nullptr,
       "adam|bf16|step|params=16781312|"},
  };
  for (const auto& c : cases) {
    TraceBuilder b;
    b.Op(c.op, 10, 20, Shapes(c.dims, c.types, c.concrete)).Kernel("some_kernel_for_" + c.op, 12, 40, 7.5);
    KinetoTrace t = Read(b.Doc());
    ASSERT_EQ(t.db.ops().size(), 1u) << c.op << ": " << ::testing::PrintToString(Keys(t));
    const OpEntry& e = t.db.ops().begin()->second;
    EXPECT_EQ(e.key.ToString(), c.key) << c.op;
    EXPECT_FALSE(ValidateOpKey(e.key)) << c.op;
    EXPECT_DOUBLE_EQ(e.time.median_s, 7.5 * kUs) << c.op;
  }
}

TEST(KinetoTrace, EntryCarriesStatisticsMethodSourceAndKernels) {
  TraceBuilder b;
  // Five calls of one mm; times 10, 20, 30, 40, 50 us: median 30, p10 14, p90 46 (linear interpolation).
  for (int i = 0; i < 5; ++i) {
    double t0 = 100.0 * i;
    b.Op("aten::mm", t0, 50, Shapes({{512, 512}, {512, 512}}, {"c10::BFloat16", "c10::BFloat16"}))
        .Kernel("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_cublas", t0 + 1, t0 + 5, 10.0 * (i + 1));
  }
  KinetoTrace t = Read(b.Doc());
  const OpEntry& e = Only(t);
  EXPECT_EQ(e.time.count, 5);
  EXPECT_DOUBLE_EQ(e.time.median_s, 30 * kUs);
  EXPECT_NEAR(e.time.p10_s, 14 * kUs, 1e-15);
  EXPECT_NEAR(e.time.p90_s, 46 * kUs, 1e-15);
  EXPECT_EQ(e.time.method, "trace");
  EXPECT_EQ(e.source, "trace:trace.json");
  EXPECT_EQ(e.kernels, std::vector<std::string>{"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_cublas"});
  EXPECT_EQ(t.db.device.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(t.db.device.sm_count, 132);
  EXPECT_EQ(t.summary.mean.kernels.mapped, 5);
}

TEST(KinetoTrace, OutermostMappedOpOwnsTheKernelsOfItsInnerOps) {
  // aten::linear on a 3-D input: matmul > mm (the gemm) then add_ (the bias): one gemm entry of
  // 100 + 8 us; the addmm inside the second linear is owned by that linear, not keyed on its own.
  const Json bf = "c10::BFloat16";
  TraceBuilder b;
  b.Op("aten::linear", 0, 50, Shapes({{1, 2048, 4096}, {12288, 4096}, {12288}}, {bf, bf, bf}))
      .Op("aten::matmul", 1, 30, Shapes({{1, 2048, 4096}, {4096, 12288}}, {bf, bf}))
      .Op("aten::mm", 2, 20, Shapes({{2048, 4096}, {4096, 12288}}, {bf, bf}))
      .Kernel("ampere_bf16_s16816gemm_bf16_256x128_ldg8_f2f_stages_64x3_tn", 3, 100, 100)
      .Op("aten::add_", 35, 10, Shapes({{1, 2048, 12288}, {12288}, {}}, {bf, bf, "Scalar"}))
      .Kernel("void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::BFloat16>>", 36, 200, 8);
  b.Op("aten::linear", 300, 50, Shapes({{1, 2048, 4096}, {12288, 4096}, {12288}}, {bf, bf, bf}))
      .Op("aten::t", 301, 2, Shapes({{12288, 4096}}, {bf}))
      .Op("aten::addmm", 305, 20, Shapes({{12288}, {2048, 4096}, {4096, 12288}}, {bf, bf, bf}))
      .Kernel("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64", 306, 400, 108);
  KinetoTrace t = Read(b.Doc());
  const OpEntry& e = Only(t);
  EXPECT_EQ(e.key.ToString(), "gemm|bf16|fwd|k=4096,m=2048,n=12288|");
  EXPECT_EQ(e.time.count, 2);
  EXPECT_DOUBLE_EQ(e.time.median_s, 108 * kUs);
  EXPECT_EQ(e.kernels.size(), 2u);  // the first occurrence: gemm + bias add
}

// ---- backward through sequence numbers ----

// Forward on thread 1, backward on thread 2 (the autograd engine's thread).
Json BackwardTrace() {
  const Json bf = "c10::BFloat16";
  TraceBuilder b;
  Json lin = Shapes({{1, 2048, 4096}, {12288, 4096}, {12288}}, {bf, bf, bf});
  lin["Sequence number"] = 10;
  Json t = Shapes({{12288, 4096}}, {bf});
  t["Sequence number"] = 10;
  Json addmm = Shapes({{12288}, {2048, 4096}, {4096, 12288}}, {bf, bf, bf});
  addmm["Sequence number"] = 11;
  b.Op("aten::linear", 0, 50, lin).Op("aten::t", 1, 2, t).Op("aten::addmm", 5, 20, addmm).Kernel("gemm_fwd", 6, 100, 200);
  Json ln = Shapes({{1, 2048, 4096}, {}, {4096}, {4096}, {}}, {bf, "", bf, bf, "Scalar"});
  ln["Sequence number"] = 12;
  b.Op("aten::native_layer_norm", 60, 10, ln).Kernel("vectorized_layer_norm_kernel", 61, 400, 20);
  Json emb = Shapes({{51200, 4096}, {1, 2048}}, {bf, "long int"});
  emb["Sequence number"] = 13;
  b.Op("aten::embedding", 80, 10, emb).Kernel("indexSelectLargeIndex", 81, 500, 6);

  auto node = [](int seq) { return Json{{"Sequence number", seq}, {"Fwd thread id", 1}}; };
  // AddmmBackward0: dgrad [2048, 12288] x [12288, 4096] -> [2048, 4096] = [m, k]; wgrad
  // [12288, 2048] x [2048, 4096] -> [12288, 4096] = [n, k]; the bias gradient is a sum.
  b.Op("autograd::engine::evaluate_function: AddmmBackward0", 1000, 100, node(11), 2)
      .Op("AddmmBackward0", 1001, 90, node(11), 2)
      .Op("aten::mm", 1002, 10, Shapes({{2048, 12288}, {12288, 4096}}, {bf, bf}), 2)
      .Kernel("gemm_dgrad", 1003, 2000, 300, 2)
      .Op("aten::mm", 1020, 10, Shapes({{12288, 2048}, {2048, 4096}}, {bf, bf}), 2)
      .Kernel("gemm_wgrad", 1021, 2300, 310, 2)
      .Op("aten::sum", 1040, 10, Shapes({{2048, 12288}, {}, {}}, {bf}), 2)
      .Kernel("reduce_kernel", 1041, 2610, 5, 2);
  b.Op("autograd::engine::evaluate_function: NativeLayerNormBackward0", 1200, 50, node(12), 2)
      .Op("NativeLayerNormBackward0", 1201, 40, node(12), 2)
      .Op("aten::native_layer_norm_backward", 1202, 30, Shapes({{1, 2048, 4096}, {1, 2048, 4096}}, {bf, bf}), 2)
      .Kernel("void at::native::(anonymous namespace)::layer_norm_grad_input_kernel<c10::BFloat16, float>", 1203, 2700, 15, 2)
      .Kernel("void at::native::(anonymous namespace)::GammaBetaBackwardCUDAKernel<c10::BFloat16, float>", 1204, 2720, 9, 2);
  b.Op("autograd::engine::evaluate_function: EmbeddingBackward0", 1300, 50, node(13), 2)
      .Op("EmbeddingBackward0", 1301, 40, node(13), 2)
      .Op("aten::embedding_dense_backward", 1302, 30, Shapes({{1, 2048, 4096}, {1, 2048}}, {bf, "long int"}), 2)
      .Kernel("embedding_backward_feature_kernel", 1303, 2800, 11, 2);
  return b.Doc();
}

TEST(KinetoTrace, BackwardNodesTakeTheForwardKeyByTheirSequenceNumber) {
  KinetoTrace t = Read(BackwardTrace());
  const std::string gemm = "|k=4096,m=2048,n=12288|";
  ASSERT_TRUE(Entry(t, "gemm|bf16|fwd" + gemm)) << ::testing::PrintToString(Keys(t));
  ASSERT_TRUE(Entry(t, "gemm|bf16|bwd_data" + gemm)) << ::testing::PrintToString(Keys(t));
  ASSERT_TRUE(Entry(t, "gemm|bf16|bwd_weight" + gemm));
  EXPECT_DOUBLE_EQ(Entry(t, "gemm|bf16|bwd_data" + gemm)->time.median_s, 300 * kUs);
  EXPECT_DOUBLE_EQ(Entry(t, "gemm|bf16|bwd_weight" + gemm)->time.median_s, 315 * kUs);  // wgrad + bias sum
  const std::string ln = "|cols=4096,rows=2048|";
  ASSERT_TRUE(Entry(t, "layernorm|bf16|bwd_data" + ln));
  EXPECT_DOUBLE_EQ(Entry(t, "layernorm|bf16|bwd_data" + ln)->time.median_s, 15 * kUs);
  EXPECT_DOUBLE_EQ(Entry(t, "layernorm|bf16|bwd_weight" + ln)->time.median_s, 9 * kUs);
  ASSERT_TRUE(Entry(t, "embedding|bf16|bwd_weight|hidden=4096,tokens=2048,vocab=51200|"));
  EXPECT_EQ(t.db.ops().size(), 8u) << ::testing::PrintToString(Keys(t));  // fwd too
  EXPECT_EQ(t.summary.mean.kernels.unmapped, 0);
}

TEST(KinetoTrace, SquareGemmBackwardHalvesGoByOrder) {
  // m = n = k = 1024: both products write [1024, 1024]; PyTorch computes the input's gradient first.
  const Json bf = "c10::BFloat16";
  Json mm = Shapes({{1024, 1024}, {1024, 1024}}, {bf, bf});
  mm["Sequence number"] = 5;
  Json node = {{"Sequence number", 5}};
  TraceBuilder b;
  b.Op("aten::mm", 0, 10, mm).Kernel("gemm", 1, 10, 50);
  b.Op("autograd::engine::evaluate_function: MmBackward0", 100, 50, node, 2)
      .Op("MmBackward0", 101, 40, node, 2)
      .Op("aten::mm", 102, 5, Shapes({{1024, 1024}, {1024, 1024}}, {bf, bf}), 2)
      .Kernel("gemm", 103, 200, 51, 2)
      .Op("aten::mm", 110, 5, Shapes({{1024, 1024}, {1024, 1024}}, {bf, bf}), 2)
      .Kernel("gemm", 111, 300, 52, 2);
  KinetoTrace t = Read(b.Doc());
  EXPECT_DOUBLE_EQ(Entry(t, "gemm|bf16|bwd_data|k=1024,m=1024,n=1024|")->time.median_s, 51 * kUs);
  EXPECT_DOUBLE_EQ(Entry(t, "gemm|bf16|bwd_weight|k=1024,m=1024,n=1024|")->time.median_s, 52 * kUs);
}

TEST(KinetoTrace, FlashAttentionBackwardBySequenceNumberAndWithoutOne) {
  const Json bf = "c10::BFloat16";
  Json q = {{1, 32, 2048, 128}, {1, 32, 2048, 128}, {1, 32, 2048, 128}, {}, {}, {}, {}};
  Json sdpa = Shapes(q, {bf, bf, bf, "Scalar", "Scalar", "Scalar", ""}, {"", "", "", "0.", "True", "False", ""});
  sdpa["Sequence number"] = 40;
  TraceBuilder b;
  b.Op("aten::_scaled_dot_product_flash_attention", 0, 30, sdpa)
      .Op("aten::_flash_attention_forward", 1, 20,
          Shapes({{1, 2048, 32, 128}, {1, 2048, 32, 128}, {1, 2048, 32, 128}}, {bf, bf, bf}))
      .Kernel("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4>, true>", 2, 100, 400);
  Json node = {{"Sequence number", 40}};
  b.Op("autograd::engine::evaluate_function: ScaledDotProductFlashAttentionBackward0", 1000, 100, node, 2)
      .Op("ScaledDotProductFlashAttentionBackward0", 1001, 90, node, 2)
      .Op("aten::_scaled_dot_product_flash_attention_backward", 1002, 80, Shapes({{1, 32, 2048, 128}}, {bf}), 2)
      .Kernel("void pytorch_flash::flash_bwd_dot_do_o_kernel<true>", 1003, 1000, 30, 2)
      .Kernel("void pytorch_flash::flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel<true>", 1004, 1030, 900, 2);
  // A backward in a trace window that does not hold its forward: the op keys itself.
  Json fa_bwd = Shapes({{1, 1024, 16, 64}, {1, 1024, 16, 64}, {1, 1024, 16, 64}, {1, 1024, 16, 64}}, {bf, bf, bf, bf},
                       {"", "", "", "", "", "", "", "", "", "", "0.", "True"});
  b.Op("autograd::engine::evaluate_function: FlashAttentionBackward0", 2000, 100, {{"Sequence number", 999}}, 2)
      .Op("aten::_flash_attention_backward", 2001, 50, fa_bwd, 2)
      .Kernel("flash_bwd_dq_dk_dv_loop_kernel", 2002, 3000, 77, 2);
  KinetoTrace t = Read(b.Doc());
  const std::string shape = "|batch=1,head_dim=128,heads=32,kv_heads=32,seq_kv=2048,seq_q=2048|causal=1";
  ASSERT_TRUE(Entry(t, "attention|bf16|fwd" + shape)) << ::testing::PrintToString(Keys(t));
  EXPECT_DOUBLE_EQ(Entry(t, "attention|bf16|fwd" + shape)->time.median_s, 400 * kUs);
  ASSERT_TRUE(Entry(t, "attention|bf16|bwd_data" + shape));
  EXPECT_DOUBLE_EQ(Entry(t, "attention|bf16|bwd_data" + shape)->time.median_s, 930 * kUs);
  const OpEntry* direct =
      Entry(t, "attention|bf16|bwd_data|batch=1,head_dim=64,heads=16,kv_heads=16,seq_kv=1024,seq_q=1024|causal=1");
  ASSERT_TRUE(direct) << ::testing::PrintToString(Keys(t));
  EXPECT_DOUBLE_EQ(direct->time.median_s, 77 * kUs);
}

// ---- summary arithmetic ----

TEST(KinetoTrace, ExposedCommunicationIsNcclTimeNotCoveredByCompute) {
  // Step 1 (warm-up, skipped) and step 2 = [10000, 20000] us. In step 2: compute kernels
  // [10000, 13000] and [13000, 16000] (one interval of 6 ms), an all-reduce [14000, 19000],
  // a memcpy [19000, 19500]. By hand:
  //   compute 6 ms; communication 5 ms; exposed = 19000 - 16000 = 3 ms;
  //   all activities cover [10000, 19500] = 9.5 ms, so idle = 10 - 9.5 = 0.5 ms.
  const Json bf = "c10::BFloat16";
  Json mm = Shapes({{4096, 4096}, {4096, 4096}}, {bf, bf});
  TraceBuilder b;
  b.Op("ProfilerStep#1", 0, 10000).Op("aten::mm", 10, 20, mm).Kernel("gemm", 11, 100, 500);
  b.Op("ProfilerStep#2", 10000, 10000)
      .Op("aten::mm", 10010, 20, mm)
      .Kernel("gemm", 10011, 10000, 3000)
      .Op("aten::mm", 10040, 20, mm)
      .Kernel("gemm", 10041, 13000, 3000)
      .Op("c10d::allreduce_", 10100, 50)
      .Kernel("ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", 10101, 14000, 5000)
      .Op("aten::copy_", 10200, 50)
      .Kernel("Memcpy DtoH (Device -> Pinned)", 10201, 19000, 500, 1, 0, "gpu_memcpy");
  KinetoTrace t = Read(b.Doc());
  ASSERT_EQ(t.summary.iterations.size(), 1u);
  const IterationSummary& s = t.summary.iterations[0];
  EXPECT_EQ(s.step, 2);
  EXPECT_NEAR(s.time_s, 10e-3, 1e-12);
  EXPECT_NEAR(s.compute_s, 6e-3, 1e-12);
  EXPECT_NEAR(s.communication_s, 5e-3, 1e-12);
  EXPECT_NEAR(s.exposed_communication_s, 3e-3, 1e-12);
  EXPECT_NEAR(s.copy_s, 0.5e-3, 1e-12);
  EXPECT_NEAR(s.idle_s, 0.5e-3, 1e-12);
  EXPECT_EQ(s.kernels.total, 4);
  EXPECT_EQ(s.kernels.mapped, 2);
  EXPECT_EQ(s.kernels.communication, 1);
  EXPECT_EQ(s.kernels.copy, 1);
  EXPECT_EQ(s.kernels.unmapped, 0);
  EXPECT_NEAR(t.summary.mean.exposed_communication_s, 3e-3, 1e-12);
  // Only step 2's two gemm calls become occurrences: the warm-up's 500 us call is not counted.
  EXPECT_EQ(Only(t).time.count, 2);
  EXPECT_DOUBLE_EQ(Only(t).time.median_s, 3000 * kUs);
  EXPECT_TRUE(t.unmapped.empty());
}

TEST(KinetoTrace, IterationsDefaultToAllButTheFirstStepOrAreChosen) {
  Json mm = Shapes({{64, 64}, {64, 64}}, {"float", "float"});
  TraceBuilder b;
  for (int s = 0; s < 3; ++s) {
    double t0 = 1000.0 * s;
    b.Op("ProfilerStep#" + std::to_string(s + 5), t0, 900 + 10 * s)
        .Op("aten::mm", t0 + 1, 5, mm)
        .Kernel("gemm", t0 + 2, t0 + 10, 10.0 * (s + 1));
  }
  KinetoTrace t = Read(b.Doc());
  ASSERT_EQ(t.summary.iterations.size(), 2u);
  EXPECT_EQ(t.summary.iterations[0].step, 6);
  EXPECT_NEAR(t.summary.mean.time_s, 915e-6, 1e-12);
  EXPECT_EQ(Only(t).time.count, 2);

  KinetoOptions first;
  first.iterations = {5};
  KinetoTrace t5 = Read(b.Doc(), first);
  ASSERT_EQ(t5.summary.iterations.size(), 1u);
  EXPECT_DOUBLE_EQ(Only(t5).time.median_s, 10 * kUs);

  // One step only: the whole trace is the iteration, timed by its kernels (10 .. 30 us).
  TraceBuilder one;
  one.Op("ProfilerStep#0", 0, 100).Op("aten::mm", 1, 5, mm).Kernel("gemm", 2, 10, 5).Kernel("gemm", 3, 25, 5);
  KinetoTrace w = Read(one.Doc());
  ASSERT_EQ(w.summary.iterations.size(), 1u);
  EXPECT_EQ(w.summary.iterations[0].step, -1);
  EXPECT_NEAR(w.summary.iterations[0].time_s, 20e-6, 1e-15);
  EXPECT_NEAR(w.summary.iterations[0].idle_s, 10e-6, 1e-15);
}

// ---- unmapped, device filter, External id, spellings ----

TEST(KinetoTrace, UnmappedKernelsAreListedWithCountsAndTime) {
  TraceBuilder b;
  b.Op("aten::copy_", 0, 10, Shapes({{1024}, {1024}, {}}, {"c10::BFloat16", "float", "Scalar"}))
      .Kernel("void at::native::unrolled_elementwise_kernel<direct_copy_kernel_cuda>", 1, 100, 3)
      .Op("aten::copy_", 20, 10, Shapes({{1024}, {1024}, {}}, {"c10::BFloat16", "float", "Scalar"}))
      .Kernel("void at::native::unrolled_elementwise_kernel<direct_copy_kernel_cuda>", 21, 110, 5)
      .Op("aten::mm", 40, 10, Shapes({{8, 8}, {8, 8}}, {"float", "float"}))
      .Kernel("gemm", 41, 120, 2);
  // A kernel whose launch is not in the trace (no runtime event, no External id).
  b.Raw({{"ph", "X"}, {"cat", "kernel"}, {"name", "mystery_kernel"}, {"pid", 0}, {"tid", 7}, {"ts", 200},
         {"dur", 4}, {"args", {{"correlation", 999}}}});
  KinetoTrace t = Read(b.Doc());
  ASSERT_EQ(t.unmapped.size(), 2u);
  EXPECT_EQ(t.unmapped[0].name, "void at::native::unrolled_elementwise_kernel<direct_copy_kernel_cuda>");
  EXPECT_EQ(t.unmapped[0].op, "aten::copy_");
  EXPECT_EQ(t.unmapped[0].count, 2);
  EXPECT_NEAR(t.unmapped[0].total_s, 8 * kUs, 1e-15);
  EXPECT_EQ(t.unmapped[1].name, "mystery_kernel");
  EXPECT_EQ(t.unmapped[1].op, "");
  EXPECT_EQ(t.summary.mean.kernels.unmapped, 3);
  EXPECT_EQ(t.summary.mean.kernels.mapped, 1);
  EXPECT_EQ(t.summary.mean.kernels.total, 4);
}

TEST(KinetoTrace, DeviceFilterAndExternalIdFallback) {
  Json mm = Shapes({{64, 64}, {64, 64}}, {"float", "float"});
  TraceBuilder b;
  b.Op("aten::mm", 0, 10, mm).Kernel("gemm", 1, 10, 5, 1, 0).Kernel("gemm", 2, 20, 9, 1, 1);
  KinetoTrace t0 = Read(b.Doc());
  EXPECT_EQ(t0.summary.device, 0);
  EXPECT_EQ(t0.summary.devices, (std::vector<int64_t>{0, 1}));
  EXPECT_DOUBLE_EQ(Only(t0).time.median_s, 5 * kUs);
  KinetoOptions on1;
  on1.device = 1;
  EXPECT_DOUBLE_EQ(Only(Read(b.Doc(), on1)).time.median_s, 9 * kUs);
  on1.device = 4;
  EXPECT_THROW(Read(b.Doc(), on1), UserError);

  // No runtime event for the kernel: its External id names the op (External id 1 = the first op).
  TraceBuilder ext;
  ext.Op("aten::mm", 0, 10, mm);
  ext.Raw({{"ph", "X"}, {"cat", "kernel"}, {"name", "gemm"}, {"pid", 0}, {"tid", 7}, {"ts", 50}, {"dur", 6},
           {"args", {{"correlation", 77}, {"External id", 1}}}});
  EXPECT_DOUBLE_EQ(Only(Read(ext.Doc())).time.median_s, 6 * kUs);
}

TEST(KinetoTrace, AcceptsTheOldCapitalizedCategories) {
  Json mm = Shapes({{64, 128}, {128, 32}}, {"float", "float"});
  TraceBuilder now, old("Operator", "Runtime", "Kernel"), upper("CPU_OP", "CUDA_RUNTIME", "KERNEL");
  for (TraceBuilder* b : {&now, &old, &upper}) b->Op("aten::mm", 0, 10, mm).Kernel("gemm", 1, 10, 5);
  for (const TraceBuilder* b : {&now, &old, &upper}) {
    KinetoTrace t = Read(b->Doc());
    EXPECT_EQ(Only(t).key.ToString(), "gemm|fp32|fwd|k=128,m=64,n=32|");
  }
}

TEST(KinetoTrace, ToleratesUnknownEventsAndFields) {
  TraceBuilder b;
  b.Raw({{"ph", "M"}, {"name", "process_name"}, {"pid", 0}, {"args", {{"name", "GPU 0"}}}})
      .Raw({{"ph", "s"}, {"cat", "ac2g"}, {"id", 1}, {"ts", 1}})
      .Raw({{"ph", "X"}, {"cat", "python_function"}, {"name", "nn.Module: Linear"}, {"ts", "whatever"}})
      .Raw({{"ph", "i"}, {"cat", "kernel"}, {"name", "instant"}})
      .Raw(Json::array({1, 2}))
      .Op("aten::mm", 0, 10, Shapes({{8, 8}, {8, 8}}, {"float", "float"}))
      .Kernel("gemm", 1, 10, 5);
  Json doc = b.Doc();
  doc["distributedInfo"] = {{"rank", 0}};
  doc["traceEvents"][5]["args"]["Record function id"] = 0;
  doc["traceEvents"][5]["some_new_field"] = {1, 2, 3};
  EXPECT_EQ(Read(doc).db.ops().size(), 1u);
}

// ---- classification ----

TEST(KernelClassify, NcclIsCommunicationCopiesAreCopies) {
  EXPECT_EQ(ClassifyKernel("kernel", "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)"),
            KernelCategory::kCommunication);
  EXPECT_EQ(ClassifyKernel("Kernel", "ncclKernel_AllReduce_RING_LL_Sum_half(ncclWorkElem)"), KernelCategory::kCommunication);
  EXPECT_EQ(ClassifyKernel("gpu_memcpy", "Memcpy HtoD (Pageable -> Device)"), KernelCategory::kCopy);
  EXPECT_EQ(ClassifyKernel("gpu_memset", "Memset (Device)"), KernelCategory::kCopy);
  EXPECT_EQ(ClassifyKernel("kernel", "flash_fwd_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4>>"), KernelCategory::kCompute);
  EXPECT_EQ(CollectiveOfKernel("ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)"), "all_reduce");
  EXPECT_EQ(CollectiveOfKernel("ncclKernel_ReduceScatter_RING_LL_Sum_half"), "reduce_scatter");
  EXPECT_EQ(CollectiveOfKernel("ncclDevKernel_AllGather_RING_LL(ncclDevKernelArgsStorage<4096ul>)"), "all_gather");
  EXPECT_EQ(CollectiveOfKernel("ncclDevKernel_SendRecv(ncclDevKernelArgsStorage<4096ul>)"), "sendrecv");
  EXPECT_EQ(CollectiveOfKernel("ncclDevKernel_Broadcast_RING_LL"), "broadcast");
  EXPECT_TRUE(IsBackwardNode("autograd::engine::evaluate_function: MmBackward0"));
  EXPECT_TRUE(IsBackwardNode("MmBackward0"));
  EXPECT_FALSE(IsBackwardNode("aten::gelu_backward"));
  EXPECT_FALSE(IsBackwardNode("aten::mm"));
}

// ---- errors ----

std::string ErrorOf(const Json& doc, KinetoOptions options = {}) {
  try {
    Read(doc, options);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos ? "" : "\"" + haystack + "\" lacks \"" + needle + "\"";
}

TEST(KinetoTraceErrors, NotJsonOrTruncatedNamesTheFile) {
  TempDir dir("kineto_errors");
  std::string text = TraceBuilder().Op("aten::mm", 0, 1).Kernel("k", 0, 1, 1).Doc().dump();
  for (const std::string& bad : {std::string("this is not json"), text.substr(0, text.size() / 2)}) {
    std::string path = dir.Write("step.json", bad);
    try {
      ReadKinetoTrace(path, {});
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UserError& e) {
      EXPECT_EQ(Contains(e.what(), "step.json"), "");
    }
  }
  std::string good = dir.Write("good.json", text);
  EXPECT_EQ(ReadKinetoTrace(good, {}).unmapped.size(), 1u);
}

TEST(KinetoTraceErrors, EachMalformedFieldIsNamed) {
  Json ok = TraceBuilder().Op("aten::mm", 0, 10, Shapes({{8, 8}, {8, 8}}, {"float", "float"})).Kernel("gemm", 1, 10, 5).Doc();
  EXPECT_EQ(Contains(ErrorOf(Json{{"schemaVersion", 1}}), "trace.json: traceEvents: missing"), "");
  EXPECT_EQ(Contains(ErrorOf(Json("text")), "trace.json: expected a Chrome trace"), "");
  EXPECT_EQ(Contains(ErrorOf(Json{{"traceEvents", 3}}), "trace.json: traceEvents: expected an array"), "");

  Json no_kernels = TraceBuilder().Op("aten::mm", 0, 10).Doc();
  EXPECT_EQ(Contains(ErrorOf(no_kernels), "trace.json: traceEvents: no GPU kernels (was the profiler run with "
                                          "activities=[ProfilerActivity.CUDA]?)"), "");

  Json neg = ok;
  neg["traceEvents"][2]["dur"] = -3;
  EXPECT_EQ(Contains(ErrorOf(neg), "trace.json: traceEvents[2].dur: a duration must be >= 0"), "");
  Json text_dur = ok;
  text_dur["traceEvents"][1]["dur"] = "1.0";
  EXPECT_EQ(Contains(ErrorOf(text_dur), "trace.json: traceEvents[1].dur: expected a number"), "");
  Json no_ts = ok;
  no_ts["traceEvents"][0].erase("ts");
  EXPECT_EQ(Contains(ErrorOf(no_ts), "trace.json: traceEvents[0].ts: missing"), "");

  Json flat = ok;
  flat["traceEvents"][0]["args"]["Input Dims"] = {8, 8};
  EXPECT_EQ(Contains(ErrorOf(flat), "trace.json: traceEvents[0].args.Input Dims[0]: expected a list of integers"), "");
  Json text_dim = ok;
  text_dim["traceEvents"][0]["args"]["Input Dims"] = {{8, "8"}, {8, 8}};
  EXPECT_EQ(Contains(ErrorOf(text_dim), "traceEvents[0].args.Input Dims[0][1]: expected an integer size"), "");
  Json frac = ok;
  frac["traceEvents"][0]["args"]["Input Dims"] = {{8, 8.5}, {8, 8}};
  EXPECT_EQ(Contains(ErrorOf(frac), "traceEvents[0].args.Input Dims[0][1]: expected an integer size"), "");
  Json negative_dim = ok;
  negative_dim["traceEvents"][0]["args"]["Input Dims"] = {{8, -1}, {8, 8}};
  EXPECT_EQ(Contains(ErrorOf(negative_dim), "Input Dims[0][1]: a size must be >= 0"), "");
  Json dims_object = ok;
  dims_object["traceEvents"][0]["args"]["Input Dims"] = Json::object();
  EXPECT_EQ(Contains(ErrorOf(dims_object), "Input Dims: expected a list of lists of integers"), "");
  Json huge = ok;
  huge["traceEvents"][0]["args"]["Input Dims"] = {{int64_t{1} << 40, int64_t{1} << 40}, {8, 8}};
  EXPECT_EQ(Contains(ErrorOf(huge), "Input Dims[0][1]: the tensor has more than 2^62 elements"), "");

  KinetoOptions step;
  step.iterations = {3};
  EXPECT_EQ(Contains(ErrorOf(ok, step), "trace.json: no ProfilerStep#3 in the trace (steps: none)"), "");
  KinetoOptions device;
  device.device = 2;
  EXPECT_EQ(Contains(ErrorOf(ok, device), "no GPU activities on device 2 (devices in the trace: 0)"), "");
}

}  // namespace
}  // namespace proteus
