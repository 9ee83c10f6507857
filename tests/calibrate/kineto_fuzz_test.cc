// Fuzz test of the Kineto trace reader: every mutated trace is read, or rejected with a UserError
// that names the file; never a crash, never another exception type. What was read must be usable:
// valid keys, finite non-negative times, and a database that saves and loads back.
// Deterministic (fixed seeds) and bounded by iteration count (about a second).
#include <cmath>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/error.h"
#include "simulator/calibrate/kineto_trace.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

constexpr int kIterations = 600;

Json Event(const char* cat, const char* name, double ts, double dur, Json args, int pid = 10, int tid = 1) {
  return {{"ph", "X"}, {"cat", cat}, {"name", name}, {"pid", pid}, {"tid", tid}, {"ts", ts}, {"dur", dur}, {"args", args}};
}

// Two ProfilerSteps of a linear forward and backward, a layer norm, flash attention, an
// all-reduce, a memcpy, an unmapped kernel, a flow event and metadata.
Json ValidTrace() {
  const Json bf = "c10::BFloat16";
  Json ev = Json::array();
  int corr = 1;
  auto launch = [&](double cpu, double gpu, double dur, const char* kernel, int tid = 1, const char* cat = "kernel") {
    ev.push_back(Event("cuda_runtime", "cudaLaunchKernel", cpu, 2, {{"correlation", corr}, {"External id", corr}}, 10, tid));
    ev.push_back(Event(cat, kernel, gpu, dur, {{"correlation", corr}, {"device", 0}, {"stream", 7}}, 0, 7));
    ++corr;
  };
  ev.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", 0}, {"args", {{"name", "GPU 0"}}}});
  for (int step = 0; step < 2; ++step) {
    double t = 1000.0 * step;
    ev.push_back(Event("user_annotation", ("ProfilerStep#" + std::to_string(step + 1)).c_str(), t, 990, Json::object()));
    ev.push_back(Event("cpu_op", "aten::linear", t + 1, 40,
                       {{"Input Dims", {{1, 512, 256}, {1024, 256}, {1024}}}, {"Input type", {bf, bf, bf}},
                        {"Sequence number", 10 * step}, {"External id", 1000 + step}}));
    ev.push_back(Event("cpu_op", "aten::addmm", t + 5, 30,
                       {{"Input Dims", {{1024}, {512, 256}, {256, 1024}, Json::array(), Json::array()}},
                        {"Input type", {bf, bf, bf, "Scalar", "Scalar"}}, {"Sequence number", 10 * step + 1}}));
    launch(t + 6, t + 100, 50, "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64");
    ev.push_back(Event("cpu_op", "aten::native_layer_norm", t + 50, 10,
                       {{"Input Dims", {{1, 512, 1024}, Json::array(), {1024}, {1024}, Json::array()}},
                        {"Input type", {bf, "", bf, bf, "Scalar"}}, {"Sequence number", 10 * step + 2}}));
    launch(t + 51, t + 150, 5, "vectorized_layer_norm_kernel");
    ev.push_back(Event("cpu_op", "aten::_scaled_dot_product_flash_attention", t + 70, 10,
                       {{"Input Dims", {{1, 8, 512, 128}, {1, 8, 512, 128}, {1, 8, 512, 128}, Json::array(), Json::array()}},
                        {"Input type", {bf, bf, bf, "Scalar", "Scalar"}},
                        {"Concrete Inputs", {"", "", "", "0.", "True"}}, {"Sequence number", 10 * step + 3}}));
    launch(t + 71, t + 160, 30, "flash_fwd_kernel");
    ev.push_back(Event("cpu_op", "aten::copy_", t + 90, 5, {{"Input Dims", {{16}, {16}, Json::array()}}}));
    launch(t + 91, t + 195, 2, "void at::native::elementwise_kernel<direct_copy>");
    ev.push_back(Event("cpu_op", "autograd::engine::evaluate_function: AddmmBackward0", t + 200, 100,
                       {{"Sequence number", 10 * step + 1}, {"Fwd thread id", 1}}, 10, 2));
    ev.push_back(Event("cpu_op", "aten::mm", t + 201, 10,
                       {{"Input Dims", {{512, 1024}, {1024, 256}}}, {"Input type", {bf, bf}}}, 10, 2));
    launch(t + 202, t + 300, 60, "gemm_dgrad", 2);
    ev.push_back(Event("cpu_op", "aten::mm", t + 220, 10,
                       {{"Input Dims", {{1024, 512}, {512, 256}}}, {"Input type", {bf, bf}}}, 10, 2));
    launch(t + 221, t + 360, 61, "gemm_wgrad", 2);
    ev.push_back(Event("cpu_op", "record_param_comms", t + 400, 10, {{"Collective name", "allreduce"}}));
    launch(t + 401, t + 330, 300, "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)");
    launch(t + 402, t + 640, 20, "Memcpy DtoD (Device -> Device)", 1, "gpu_memcpy");
    ev.push_back({{"ph", "s"}, {"cat", "ac2g"}, {"name", "ac2g"}, {"id", corr}, {"pid", 10}, {"tid", 1}, {"ts", t + 6}});
  }
  return {{"schemaVersion", 1}, {"traceEvents", ev},
          {"deviceProperties", {{{"id", 0}, {"name", "NVIDIA A100-SXM4-80GB"}, {"numSms", 108}}}}};
}

// A consumer's use of what was read; a violation is a reader bug, reported as a non-UserError.
void Use(const KinetoTrace& t) {
  for (const auto& [text, e] : t.db.ops()) {
    if (auto bad = ValidateOpKey(e.key)) throw std::logic_error("invalid key " + text + ": " + *bad);
    if (!(e.time.median_s >= 0) || !std::isfinite(e.time.p90_s)) throw std::logic_error("bad time for " + text);
  }
  for (const auto& s : t.summary.iterations)
    for (double v : {s.time_s, s.compute_s, s.communication_s, s.exposed_communication_s, s.copy_s, s.idle_s})
      if (!std::isfinite(v) || v < -1e-9) throw std::logic_error("bad summary value " + std::to_string(v));
  (void)CostDb::FromJson(t.db.ToJson(), "roundtrip");
}

// Reads `doc`; a UserError must name the file.
void ReadNamed(const Json& doc, const KinetoOptions& options) {
  try {
    Use(ReadKinetoTraceJson(doc, "fuzz.json", options));
  } catch (const UserError& e) {
    if (std::string(e.what()).find("fuzz.json") == std::string::npos)
      throw std::logic_error(std::string("a UserError without the file name: ") + e.what());
    throw;
  }
}

TEST(KinetoFuzz, MutatedTracesReadOrThrowUserErrorNamingTheFile) {
  Json valid = ValidTrace();
  KinetoTrace t = ReadKinetoTraceJson(valid, "fuzz.json", {});
  ASSERT_EQ(t.db.ops().size(), 5u);  // gemm fwd, bwd_data, bwd_weight; layernorm; attention
  ASSERT_EQ(t.unmapped.size(), 1u);
  fuzz::FuzzStats stats;
  EXPECT_EQ(fuzz::FuzzJsonReader(valid, 71, kIterations, [](const Json& j) { ReadNamed(j, {}); }, &stats), "");
  EXPECT_GT(stats.accepted, kIterations / 10) << stats.rejected << " rejected";
}

TEST(KinetoFuzz, MutatedTracesWithOptionsReadOrThrowUserError) {
  KinetoOptions options;
  options.iterations = {1, 2};
  options.device = 0;
  options.default_dtype = DType::kFp16;
  EXPECT_EQ(fuzz::FuzzJsonReader(ValidTrace(), 72, kIterations / 2, [&](const Json& j) { ReadNamed(j, options); }), "");
}

}  // namespace
}  // namespace proteus
