#include "simulator/compile/fp8_gemm.h"

#include "common/error.h"
#include "simulator/cost/op_mapping.h"

namespace proteus {
namespace {

// Local GEMM sizes of `op` (the forward key's m, n, k; batch for expert-style bgemms).
struct GemmSize {
  int64_t batch = 1, m = 1, n = 1, k = 1;
};
GemmSize SizeOf(const Operator& op) {
  OpKey key = KeyForOperator(op, Phase::kFwd);
  GemmSize s;
  if (auto it = key.shape.find("batch"); it != key.shape.end()) s.batch = it->second;
  s.m = key.shape.at("m");
  s.n = key.shape.at("n");
  s.k = key.shape.at("k");
  return s;
}

bool IsFp8(DType t) { return t == DType::kFp8E4M3 || t == DType::kFp8E5M2; }

// One memory-bound kernel over `elements` of `dtype`: a cast_transpose (writes = 2 fp8 outputs) or
// an amax pass (writes = 0), priced as the device copy moving the same HBM bytes.
Step CastStep(const std::string& name, DType dtype, int64_t elements, int64_t writes, Phase phase, bool recompute,
              const OpCoster& coster, ExecGraph& graph) {
  int64_t traffic = elements * (DTypeBytes(dtype) + writes);
  OpKey key;
  key.kind = "copy";
  key.dtype = dtype;
  key.phase = Phase::kFwd;  // one key per kernel shape, whichever phase issues it
  key.shape = {{"bytes", (traffic + 1) / 2}};  // a d2d copy of B bytes reads and writes B
  key.attrs = {{"dir", "d2d"}};
  TaskCost c = coster.KeyCost(key);
  Step st;
  st.kind = TaskKind::kCompute;
  st.stream = StreamKind::kCompute;
  st.phase = phase;
  st.duration_s = c.seconds;
  st.source = c.source;
  if (!c.key.empty()) st.cost_key = graph.Intern(c.key);
  st.compute_class = graph.Intern(c.compute_class);
  st.recompute = recompute;
  st.name = graph.Intern(name + (recompute ? " recompute" : ""));
  return st;
}

}  // namespace

bool IsFp8Gemm(const std::string& path, const Operator& op, const Fp8Recipe& recipe) {
  return recipe.enabled() && op.kind == OpKind::kLinear && path.rfind("layers.", 0) == 0 && !IsFp8(op.dtype);
}

DType Fp8GemmDtype(Phase phase, const Fp8Recipe& recipe) {
  bool backward = phase == Phase::kBwdData || phase == Phase::kBwdWeight;
  return backward && recipe.format == Fp8Format::kHybrid ? DType::kFp8E5M2 : DType::kFp8E4M3;
}

Operator Fp8PricedOp(const Operator& local, Phase phase, const Fp8Recipe& recipe) {
  Operator op = local;
  op.dtype = Fp8GemmDtype(phase, recipe);
  return op;
}

void PrepareFp8Gemm(Operator& local, const std::string& path, const std::string& where) {
  GemmSize s = SizeOf(local);
  if (s.m % 8 != 0 || s.n % 8 != 0 || s.k % 16 != 0)
    throw UserError(where, path + " has a local GEMM m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                               " k=" + std::to_string(s.k) +
                               "; Transformer Engine runs fp8 GEMMs only when m and n are multiples of 8 "
                               "and k of 16 (tokens per micro-batch, hidden and TP-split widths)");
  for (auto& sv : local.saved) {
    const TensorUse* t = local.FindTensor(sv.name);
    if (!t || t->role != TensorRole::kInput) continue;
    sv.name += "#fp8";
    sv.bytes_per_element = 1;
  }
}

std::vector<Step> Fp8CastSteps(const Operator& local, const std::string& path, Phase phase, const Fp8Recipe& recipe,
                               bool recompute, const OpCoster& coster, ExecGraph& graph) {
  GemmSize s = SizeOf(local);
  bool current = recipe.scaling == Fp8Scaling::kCurrent;
  std::vector<Step> steps;
  auto kernel = [&](const std::string& kind, const std::string& what, int64_t elements, int64_t writes,
                    bool first_microbatch_only) {
    steps.push_back(CastStep(path + " fp8 " + kind + " " + what, local.dtype, elements, writes, phase, recompute,
                             coster, graph));
    steps.back().first_microbatch_only = first_microbatch_only;
  };
  auto add = [&](const std::string& what, int64_t elements, bool first_microbatch_only) {
    if (current) kernel("amax", what, elements, 0, first_microbatch_only);  // reads the tensor once
    kernel("cast_transpose", what, elements, 2, first_microbatch_only);    // fp8 copy + fp8 transpose
  };
  if (phase == Phase::kFwd) {
    if (!recompute) add("weight", s.batch * s.k * s.n, true);
    add("input", s.batch * s.m * s.k, false);
  } else if (phase == Phase::kBwdData) {
    add("grad", s.batch * s.m * s.n, false);
  }
  return steps;
}

int64_t Fp8WeightCopyBytes(const Operator& local) {
  GemmSize s = SizeOf(local);
  return kFp8WeightCopyBytesPerElement * s.batch * s.k * s.n;
}

std::string Fp8SavedSource(const std::string& saved_name) {
  constexpr std::string_view kSuffix = "#fp8";
  if (saved_name.size() > kSuffix.size() &&
      saved_name.compare(saved_name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0)
    return saved_name.substr(0, saved_name.size() - kSuffix.size());
  return saved_name;
}

std::string Fp8SettingName(const Strategy& strategy) {
  return strategy.origin == "shorthand" ? "--fp8" : strategy.origin + ": precision.fp8";
}

void CheckFp8Supported(const Fp8Recipe& recipe, const Model& model, const GpuSpec& gpu, const std::string& where) {
  if (!recipe.enabled()) return;
  if (IsFp8(model.dtype))
    throw UserError(where, "model " + model.name + " is already whole-model " + std::string(DTypeName(model.dtype)) +
                               "; Transformer Engine fp8 keeps the model in bf16 (drop --dtype fp8_e4m3)");
  bool any = false;
  VisitModules(model.root, [&](const std::string& path, const Module& m) {
    for (const auto& op : m.ops) any = any || IsFp8Gemm(JoinPath(path, op.name), op, recipe);
  });
  if (!any)
    throw UserError(where, "model " + model.name + " has no Linear layer inside a transformer block (\"layers.<i>\"): "
                               "nothing would run in fp8");
  std::vector<DType> need = {DType::kFp8E4M3};
  if (recipe.format == Fp8Format::kHybrid) need.push_back(DType::kFp8E5M2);
  for (DType t : need)
    if (!gpu.peak_flops.count(t))
      throw UserError(where, std::string(Fp8FormatName(recipe.format)) + " needs fp8 tensor cores, but " + gpu.name +
                                 " has none (its spec lists no " + std::string(DTypeName(t)) +
                                 " peak; fp8 GEMMs need Hopper or Ada, compute capability >= 8.9)");
}

std::string PrecisionLabel(DType model_dtype, const Fp8Recipe& recipe) {
  std::string dtype(DTypeName(model_dtype));
  if (IsFp8(model_dtype)) return dtype + " (whole-model fp8, not Transformer Engine)";
  if (!recipe.enabled()) return dtype;
  return dtype + " + fp8 GEMMs (TE " + std::string(Fp8FormatName(recipe.format)) + ", " +
         std::string(Fp8ScalingName(recipe.scaling)) + " scaling)";
}

}  // namespace proteus
