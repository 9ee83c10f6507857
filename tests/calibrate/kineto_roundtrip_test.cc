// Round trip: a known schedule -> a Kineto trace -> measured entries -> a simulation that
// reproduces the trace.
//
// The known schedule is the simulator's own for uniform-gpt (8 GPT layers, h 4096, s 2048) on one
// H100 (tp = pp = dp = 1, one micro-batch): its compute tasks in order, each keyed as the simulator
// keys it (KeyForOperator on the model's operator). The "measured" time of a key is its roofline
// time times a factor per kind (a real GPU is not the roofline), so the re-simulation must move
// from the first prediction to the trace. The trace is written as torch.profiler would:
// forward ops on the main thread (aten::linear > aten::t, aten::addmm; sdpa > flash; layer_norm >
// native_layer_norm; cross_entropy_loss > log_softmax, nll_loss), backward nodes on the autograd
// thread with the forward's sequence numbers (both halves of a linear in one AddmmBackward0, the
// loss in two nodes), fused Adam with the parameters as a tensor list, cudaLaunchKernel + kernel
// pairs by correlation id, and 3 ProfilerStep spans, the first (warm-up) 1.5x slower.
//
// Checked: (a) each entry's median is the known time of its key (1e-9 relative) and every key of
// the schedule has an entry; (b) the entries, saved as a database, make the simulator count every
// compute task as measured and predict the trace's iteration time (the ProfilerStep spans) within 1%.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/json_file.h"
#include "simulator/calibrate/kineto_trace.h"
#include "simulator/cost/op_mapping.h"
#include "simulator/model/model_file.h"
#include "simulator/pipeline/simulation.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

constexpr double kUs = 1e-6;

SimulationRequest Request(RunSpec spec) {
  SimulationRequest r;
  r.spec = std::move(spec);
  return r;
}

RunSpec Spec() {
  RunSpec spec;
  spec.model = "uniform-gpt";
  spec.cluster = "dgx-h100-1";
  spec.flags.tp = 1;
  spec.flags.pp = 1;
  spec.flags.dp = 1;
  spec.flags.mbs = 1;
  spec.flags.gbs = 1;
  return spec;
}

// How much slower than its roofline the "measured" GPU runs each kind.
double Slowdown(const std::string& kind) {
  static const std::map<std::string, double> kFactor = {
      {"gemm", 1.18},   {"attention", 1.35}, {"layernorm", 1.6}, {"dropout", 1.4},       {"add", 1.3},
      {"gelu", 1.5},    {"embedding", 2.0},  {"adam", 1.1},      {"cross_entropy", 1.7}};
  auto it = kFactor.find(kind);
  return it == kFactor.end() ? 1.25 : it->second;
}

// One compute task of the schedule with its key, operator and measured time.
struct KnownTask {
  std::string path;           // "layers.0.mlp.fc1", or "optimizer step"
  OpKey key;
  const Operator* op = nullptr;
  double seconds = 0;
};

struct Schedule {
  Model model;
  std::vector<KnownTask> tasks;        // in simulated start order
  std::map<std::string, double> known; // key -> measured seconds
  std::vector<std::vector<int64_t>> params;  // parameter shapes (fused Adam's tensor list)
  int compute_tasks = 0;
};

std::vector<int64_t> ShapeOf(const Operator& op, const TensorUse& t) {
  std::vector<int64_t> dims;
  for (const auto& a : t.axes) dims.push_back(op.FindDim(a)->size);
  return dims;
}

Schedule KnownSchedule() {
  SimulationOutput sim = RunSimulation(Request(Spec()));
  Schedule s;
  s.model = LoadModel("uniform-gpt");
  std::map<std::string, const Operator*> ops;
  std::map<std::string, bool> seen_weight;
  int64_t params = 0;
  VisitOps(s.model.root, [&](const std::string& path, const Operator& op) {
    ops[path] = &op;
    for (const auto& t : op.tensors)
      if (t.role == TensorRole::kWeight && !seen_weight[t.name]) {
        seen_weight[t.name] = true;
        s.params.push_back(ShapeOf(op, t));
        params += op.TensorElements(t);
      }
  });
  std::vector<TaskId> order;
  for (TaskId i = 0; i < static_cast<TaskId>(sim.graph.tasks.size()); ++i)
    if (sim.graph.tasks[i].kind == TaskKind::kCompute) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](TaskId a, TaskId b) { return sim.result.task_start_s[a] < sim.result.task_start_s[b]; });
  for (TaskId id : order) {
    const Task& task = sim.graph.tasks[id];
    std::string name(sim.graph.NameOf(task));
    KnownTask k;
    if (task.phase == Phase::kStep) {
      k.path = name;
      k.key = OptimizerStepKey(params, s.model.dtype);
    } else {
      k.path = name.substr(0, name.rfind(' '));
      k.op = ops.at(k.path);  // tp = dp = mbs = 1: the local operator is the model's
      k.key = KeyForOperator(*k.op, task.phase);
    }
    k.seconds = task.duration_s * Slowdown(k.key.kind);
    s.known[k.key.ToString()] = k.seconds;
    s.tasks.push_back(std::move(k));
  }
  s.compute_tasks = static_cast<int>(order.size());
  // The keys rebuilt here are the ones the simulator priced.
  EXPECT_EQ(sim.unmeasured.size(), s.known.size());
  for (const auto& key : sim.unmeasured) EXPECT_TRUE(s.known.count(key.ToString())) << key.ToString();
  return s;
}

// ---- the trace writer ----

// One recorded op: its args, the kernels it launches (name, share of the task's time) and the ops
// nested in it.
struct AtenOp {
  std::string name;
  Json args = Json::object();
  std::vector<std::pair<std::string, double>> kernels;
  std::vector<AtenOp> children;
  std::string cat = "cpu_op";
};

// A `{}` among the dims is a non-tensor input's [] (nlohmann reads an empty initializer as null).
// Vectors, not Json: a one-element `{kBf}` given to a Json is an array under GCC but a copy of kBf
// under clang (CWG 2137).
AtenOp Op(std::string name, std::vector<Json> dims, std::vector<Json> types, int64_t seq = -1) {
  for (auto& d : dims)
    if (d.is_null()) d = Json::array();
  AtenOp op;
  op.name = std::move(name);
  op.args["Input Dims"] = Json(std::move(dims));
  op.args["Input type"] = Json(std::move(types));
  if (seq >= 0) op.args["Sequence number"] = seq;
  return op;
}

AtenOp Node(const std::string& node, int64_t seq, std::vector<AtenOp> children) {
  AtenOp inner;
  inner.name = node;
  inner.args = {{"Sequence number", seq}, {"Fwd thread id", 1}};
  inner.children = std::move(children);
  AtenOp outer;
  outer.name = "autograd::engine::evaluate_function: " + node;
  outer.args = inner.args;
  outer.children = {std::move(inner)};
  return outer;
}

AtenOp WithKernels(AtenOp op, std::vector<std::pair<std::string, double>> kernels) {
  op.kernels = std::move(kernels);
  return op;
}

class TraceWriter {
 public:
  /// Emits `op` (and its children) at the CPU clock on thread `tid`; its kernels take `seconds`
  /// times their shares, back to back on the GPU.
  void Emit(const AtenOp& op, int tid, double seconds) {
    double start = cpu_us_;
    cpu_us_ += 1;
    for (const auto& [kernel, share] : op.kernels)
      if (share > 0) Launch(kernel, share * seconds / kUs, tid);  // an absent half launches nothing
    for (const auto& child : op.children) Emit(child, tid, seconds);
    cpu_us_ += 1;
    Json args = op.args;
    args["External id"] = next_external_++;
    events_.push_back({{"ph", "X"}, {"cat", op.cat}, {"name", op.name}, {"pid", 4242}, {"tid", tid},
                       {"ts", start}, {"dur", cpu_us_ - start}, {"args", args}});
    cpu_us_ += 1;
  }

  /// Opens a ProfilerStep; CloseStep ends it `tail_us` after the GPU drains (the step's sync).
  void OpenStep() { step_start_us_ = cpu_us_; }
  double CloseStep(int number, double tail_us) {
    double end = std::max(cpu_us_, gpu_us_ + tail_us);
    events_.push_back({{"ph", "X"}, {"cat", "user_annotation"}, {"name", "ProfilerStep#" + std::to_string(number)},
                       {"pid", 4242}, {"tid", 1}, {"ts", step_start_us_}, {"dur", end - step_start_us_},
                       {"args", {{"External id", next_external_++}}}});
    cpu_us_ = end + 1;
    return (end - step_start_us_) * kUs;
  }

  Json Doc() const {
    return {{"schemaVersion", 1},
            {"deviceProperties", {{{"id", 0}, {"name", "NVIDIA H100 80GB HBM3"}, {"computeMajor", 9},
                                   {"computeMinor", 0}, {"numSms", 132}, {"totalGlobalMem", 85029158912}}}},
            {"distributedInfo", {{"backend", "nccl"}, {"rank", 0}, {"world_size", 1}}},
            {"traceEvents", events_}};
  }

 private:
  void Launch(const std::string& kernel, double dur_us, int tid) {
    int corr = next_correlation_++;
    double launch = cpu_us_;
    events_.push_back({{"ph", "X"}, {"cat", "cuda_runtime"}, {"name", "cudaLaunchKernel"}, {"pid", 4242},
                       {"tid", tid}, {"ts", launch}, {"dur", 2.0}, {"args", {{"correlation", corr}}}});
    cpu_us_ += 3;
    // The CPU runs ahead: a kernel starts when the stream is free (and not before its launch).
    double start = std::max(gpu_us_, launch + 4);
    events_.push_back({{"ph", "X"}, {"cat", "kernel"}, {"name", kernel}, {"pid", 0}, {"tid", 7}, {"ts", start},
                       {"dur", dur_us},
                       {"args", {{"correlation", corr}, {"device", 0}, {"stream", 7}, {"grid", {132, 1, 1}},
                                 {"block", {128, 1, 1}}}}});
    gpu_us_ = start + dur_us;
  }

  std::vector<Json> events_;
  double cpu_us_ = 5.0e6;   // Kineto writes microseconds after a base time
  double gpu_us_ = 0;
  double step_start_us_ = 0;
  int next_correlation_ = 1;
  int next_external_ = 1;
};

// ---- aten ops of each key, as PyTorch records them for this model ----

const Json kBf = "c10::BFloat16";
const Json kLong = "long int";

bool HasBias(const Operator& op) {
  for (const auto& t : op.tensors)
    if (t.role == TensorRole::kWeight && t.name.size() > 5 && t.name.substr(t.name.size() - 5) == ".bias") return true;
  return false;
}

int64_t S(const OpKey& k, const char* p) { return k.shape.at(p); }

// [1, s, elements / s]: what a GPT block's activations look like (batch 1, sequence 2048).
Json Activation(int64_t elements, int64_t seq) { return elements % seq ? Json{elements} : Json{1, seq, elements / seq}; }

struct Emitted {
  AtenOp forward;
  int64_t node_seq = -1;      // the sequence number the (first) backward node carries
};

// Forward ops of a key; `seq` is the autograd sequence counter (each node-creating op takes one).
Emitted Forward(const KnownTask& t, int64_t seq_len, int64_t& seq) {
  const OpKey& k = t.key;
  Emitted e;
  if (k.kind == "gemm") {
    int64_t m = S(k, "m"), n = S(k, "n"), kk = S(k, "k");
    Json x = {1, m, kk};
    if (HasBias(*t.op)) {
      e.forward = Op("aten::linear", {x, {n, kk}, {n}}, {kBf, kBf, kBf}, seq);
      e.forward.children = {Op("aten::t", {{n, kk}}, {kBf}, seq),
                            WithKernels(Op("aten::addmm", {{n}, {m, kk}, {kk, n}, {}, {}}, {kBf, kBf, kBf, "Scalar", "Scalar"}, seq + 1),
                                        {{"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas", 1.0}})};
    } else {
      e.forward = Op("aten::linear", {x, {n, kk}}, {kBf, kBf}, seq);
      e.forward.children = {Op("aten::t", {{n, kk}}, {kBf}, seq),
                            Op("aten::matmul", {x, {kk, n}}, {kBf, kBf}, seq + 1)};
      e.forward.children[1].children = {WithKernels(Op("aten::mm", {{m, kk}, {kk, n}}, {kBf, kBf}, seq + 1),
                                                    {{"sm90_xmma_gemm_bf16bf16_bf16f32_f32_nn_n_tilesize64x128x64_cublas", 1.0}})};
    }
    e.node_seq = seq + 1;
    seq += 2;
  } else if (k.kind == "attention") {
    int64_t b = S(k, "batch"), h = S(k, "heads"), g = S(k, "kv_heads"), sq = S(k, "seq_q"), skv = S(k, "seq_kv"),
            d = S(k, "head_dim");
    std::string causal = k.attrs.at("causal") == "1" ? "True" : "False";
    Json qkv = {{b, h, sq, d}, {b, g, skv, d}, {b, g, skv, d}};
    e.forward = Op("aten::scaled_dot_product_attention", {qkv[0], qkv[1], qkv[2], {}, {}, {}, {}},
                   {kBf, kBf, kBf, "", "Scalar", "Scalar", ""}, seq);
    e.forward.args["Concrete Inputs"] = {"", "", "", "", "0.", causal, "", "False"};
    AtenOp flash = Op("aten::_scaled_dot_product_flash_attention", {qkv[0], qkv[1], qkv[2], {}, {}, {}, {}},
                      {kBf, kBf, kBf, "Scalar", "Scalar", "Scalar", ""}, seq);
    flash.args["Concrete Inputs"] = {"", "", "", "0.", causal, "False", ""};
    flash.children = {WithKernels(Op("aten::_flash_attention_forward", {{b, sq, h, d}, {b, skv, g, d}, {b, skv, g, d}},
                                     {kBf, kBf, kBf}),
                                  {{"void pytorch_flash::flash_fwd_kernel<pytorch_flash::Flash_fwd_kernel_traits<128, 128, 64, 4, false, false, cutlass::bfloat16_t>, false, true, false, false, true, true, false, false>(pytorch_flash::Flash_fwd_params)", 1.0}})};
    e.forward.children = {std::move(flash)};
    e.node_seq = seq++;
  } else if (k.kind == "layernorm") {
    int64_t rows = S(k, "rows"), cols = S(k, "cols");
    Json dims = {{1, rows, cols}, {}, {cols}, {cols}, {}};
    e.forward = Op("aten::layer_norm", {{1, rows, cols}, {}, {cols}, {cols}, {}, {}}, {kBf, "", kBf, kBf, "Scalar", "Scalar"}, seq);
    e.forward.children = {WithKernels(Op("aten::native_layer_norm", dims, {kBf, "", kBf, kBf, "Scalar"}, seq),
                                      {{"void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<c10::BFloat16, float>(int, float, c10::BFloat16 const*, c10::BFloat16 const*, c10::BFloat16 const*, float*, float*, c10::BFloat16*)", 1.0}})};
    e.node_seq = seq++;
  } else if (k.kind == "dropout") {
    Json x = Activation(S(k, "elements"), seq_len);
    e.forward = Op("aten::dropout", {x, {}, {}}, {kBf, "Scalar", "Scalar"}, seq);
    e.forward.children = {WithKernels(Op("aten::native_dropout", {x, {}, {}}, {kBf, "Scalar", "Scalar"}, seq),
                                      {{"void at::native::(anonymous namespace)::fused_dropout_kernel_vec<c10::BFloat16, float, unsigned int, 1, 4, bool>(at::cuda::detail::TensorInfo<c10::BFloat16 const, unsigned int>, at::cuda::detail::TensorInfo<c10::BFloat16, unsigned int>, at::cuda::detail::TensorInfo<bool, unsigned int>, unsigned int, float, at::PhiloxCudaState)", 1.0}})};
    e.node_seq = seq++;
  } else if (k.kind == "add") {
    Json x = Activation(S(k, "elements"), seq_len);
    e.forward = WithKernels(Op("aten::add", {x, x, {}}, {kBf, kBf, "Scalar"}, seq),
                            {{"void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3>)", 1.0}});
    e.node_seq = seq++;
  } else if (k.kind == "gelu") {
    Json x = Activation(S(k, "elements"), seq_len);
    e.forward = WithKernels(Op("aten::gelu", {x, {}}, {kBf, ""}, seq),
                            {{"void at::native::vectorized_elementwise_kernel<4, at::native::GeluCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2> >(int, at::native::GeluCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16)#1}, at::detail::Array<char*, 2>)", 1.0}});
    e.forward.args["Concrete Inputs"] = {"", k.attrs.count("fn") ? k.attrs.at("fn") : "none"};
    e.node_seq = seq++;
  } else if (k.kind == "embedding") {
    int64_t tokens = S(k, "tokens");
    e.forward = WithKernels(Op("aten::embedding", {{S(k, "vocab"), S(k, "hidden")}, {1, tokens}, {}, {}, {}},
                               {kBf, kLong, "Scalar", "Scalar", "Scalar"}, seq),
                            {{"void at::native::(anonymous namespace)::indexSelectLargeIndex<c10::BFloat16, long, unsigned int, 2, 2, -2, true>(at::cuda::detail::TensorInfo<c10::BFloat16, unsigned int>, at::cuda::detail::TensorInfo<c10::BFloat16 const, unsigned int>, at::cuda::detail::TensorInfo<long const, unsigned int>, int, int, unsigned int, unsigned int, long)", 1.0}});
    e.node_seq = seq++;
  } else if (k.kind == "cross_entropy") {
    int64_t tokens = S(k, "tokens"), vocab = S(k, "vocab");
    e.forward = Op("aten::cross_entropy_loss", {{tokens, vocab}, {tokens}, {}, {}, {}, {}},
                   {"float", kLong, "", "Scalar", "Scalar", "Scalar"}, seq);
    AtenOp log_softmax = Op("aten::log_softmax", {{tokens, vocab}, {}, {}}, {"float", "Scalar", ""}, seq);
    log_softmax.children = {WithKernels(Op("aten::_log_softmax", {{tokens, vocab}, {}, {}}, {"float", "Scalar", "Scalar"}, seq),
                                        {{"void at::native::(anonymous namespace)::cunn_SoftMaxForward<4, float, float, float, at::native::(anonymous namespace)::LogSoftMaxForwardEpilogue>(float*, float const*, int)", 0.6}})};
    AtenOp nll = Op("aten::nll_loss_nd", {{tokens, vocab}, {tokens}, {}, {}, {}}, {"float", kLong, "", "Scalar", "Scalar"}, seq + 1);
    AtenOp nll_inner = Op("aten::nll_loss", {{tokens, vocab}, {tokens}, {}, {}, {}}, {"float", kLong, "", "Scalar", "Scalar"}, seq + 1);
    nll_inner.children = {WithKernels(Op("aten::nll_loss_forward", {{tokens, vocab}, {tokens}, {}, {}, {}}, {"float", kLong, "", "Scalar", "Scalar"}, seq + 1),
                                      {{"void at::native::(anonymous namespace)::nll_loss_forward_reduce_cuda_kernel_2d<float, float, long>(float*, float*, float const*, long const*, float const*, bool, long, long, long, long)", 0.4}})};
    nll.children = {std::move(nll_inner)};
    e.forward.children = {std::move(log_softmax), std::move(nll)};
    e.node_seq = seq;   // LogSoftmaxBackward0; NllLossBackward0 is seq + 1
    seq += 2;
  } else {
    ADD_FAILURE() << "the round trip has no aten form for " << k.ToString();
  }
  return e;
}

const char* kGemmWgradKernel = "sm90_xmma_gemm_bf16bf16_bf16f32_f32_nt_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas";
const char* kGemmDgradKernel = "sm90_xmma_gemm_bf16bf16_bf16f32_f32_nn_n_tilesize128x256x64_warpgroupsize2x1x1_execute_segment_k_off_kernel__5x_cublas";

// The backward nodes of a key's forward; `data_s` / `weight_s` are the two halves' times (the
// node's kernels get shares of them through the kernel shares below). Returns (node, seconds) pairs.
std::vector<std::pair<AtenOp, double>> Backward(const KnownTask& fwd, int64_t node_seq, double data_s, double weight_s) {
  const OpKey& k = fwd.key;
  std::vector<std::pair<AtenOp, double>> out;
  auto one = [&](AtenOp node, double s) { out.emplace_back(std::move(node), s); };
  if (k.kind == "gemm") {
    int64_t m = S(k, "m"), n = S(k, "n"), kk = S(k, "k");
    double total = data_s + weight_s;
    // Shares of the node's total: dgrad, wgrad, and (with a bias) the bias gradient's sum.
    double bias = HasBias(*fwd.op) ? 0.07 * weight_s : 0;
    std::vector<AtenOp> children = {
        WithKernels(Op("aten::mm", {{m, n}, {n, kk}}, {kBf, kBf}), {{kGemmDgradKernel, data_s / total}}),
        WithKernels(Op("aten::mm", {{n, m}, {m, kk}}, {kBf, kBf}), {{kGemmWgradKernel, (weight_s - bias) / total}})};
    if (bias > 0)
      children.push_back(WithKernels(Op("aten::sum", {{m, n}, {}, {}}, {kBf, "", ""}),
                                     {{"void at::native::reduce_kernel<512, 1, at::native::ReduceOp<c10::BFloat16, at::native::func_wrapper_t<float, at::native::sum_functor<c10::BFloat16, float, float>::operator()(at::TensorIterator&)::{lambda(float, float)#1}>, unsigned int, float, 4> >(at::native::ReduceOp<c10::BFloat16, at::native::func_wrapper_t<float, at::native::sum_functor<c10::BFloat16, float, float>::operator()(at::TensorIterator&)::{lambda(float, float)#1}>, unsigned int, float, 4>)", bias / total}}));
    one(Node(HasBias(*fwd.op) ? "AddmmBackward0" : "MmBackward0", node_seq, std::move(children)), total);
  } else if (k.kind == "attention") {
    int64_t b = S(k, "batch"), h = S(k, "heads"), g = S(k, "kv_heads"), sq = S(k, "seq_q"), skv = S(k, "seq_kv"),
            d = S(k, "head_dim");
    AtenOp inner = WithKernels(Op("aten::_flash_attention_backward", {{b, sq, h, d}, {b, sq, h, d}, {b, skv, g, d}, {b, skv, g, d}},
                                  {kBf, kBf, kBf, kBf}),
                               {{"void pytorch_flash::flash_bwd_dot_do_o_kernel<true, pytorch_flash::Flash_bwd_kernel_traits<128, 64, 128, 8, 2, 4, 2, false, false, cutlass::bfloat16_t> >(pytorch_flash::Flash_bwd_params)", 0.1},
                                {"void pytorch_flash::flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel<pytorch_flash::Flash_bwd_kernel_traits<128, 64, 128, 8, 2, 4, 2, false, false, cutlass::bfloat16_t>, false, true, false, false, false, true, false>(pytorch_flash::Flash_bwd_params)", 0.8},
                                {"void pytorch_flash::flash_bwd_convert_dq_kernel<pytorch_flash::Flash_bwd_kernel_traits<128, 64, 128, 8, 2, 4, 2, false, false, cutlass::bfloat16_t> >(pytorch_flash::Flash_bwd_params, int)", 0.1}});
    AtenOp sdpa = Op("aten::_scaled_dot_product_flash_attention_backward", {{b, h, sq, d}, {b, h, sq, d}, {b, g, skv, d}, {b, g, skv, d}}, {kBf, kBf, kBf, kBf});
    sdpa.children = {std::move(inner)};
    one(Node("ScaledDotProductFlashAttentionBackward0", node_seq, {std::move(sdpa)}), data_s);
  } else if (k.kind == "layernorm") {
    int64_t rows = S(k, "rows"), cols = S(k, "cols");
    double total = data_s + weight_s;
    one(Node("NativeLayerNormBackward0", node_seq,
             {WithKernels(Op("aten::native_layer_norm_backward", {{1, rows, cols}, {1, rows, cols}, {}, {1, rows, 1}, {1, rows, 1}, {cols}, {cols}, {}},
                             {kBf, kBf, "", "float", "float", kBf, kBf, ""}),
                          {{"void at::native::(anonymous namespace)::layer_norm_grad_input_kernel_vectorized<c10::BFloat16, float>(c10::BFloat16 const*, c10::BFloat16 const*, float const*, float const*, c10::BFloat16 const*, c10::BFloat16*, int)", data_s / total},
                           {"void at::native::(anonymous namespace)::GammaBetaBackwardCUDAKernel_32x32<c10::BFloat16, float>(long, long, c10::BFloat16 const*, c10::BFloat16 const*, float const*, float const*, c10::BFloat16*, c10::BFloat16*)", weight_s / total}})}),
        total);
  } else if (k.kind == "dropout") {
    Json x = Activation(S(k, "elements"), 2048);
    one(Node("NativeDropoutBackward0", node_seq,
             {WithKernels(Op("aten::native_dropout_backward", {x, x, {}}, {kBf, "bool", "Scalar"}),
                          {{"void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::masked_scale_kernel<bool, c10::BFloat16, float>(at::Tensor&, at::Tensor const&, at::Tensor const&, float)::{lambda(c10::BFloat16, bool)#1}, at::detail::Array<char*, 3> >(int, at::native::(anonymous namespace)::masked_scale_kernel<bool, c10::BFloat16, float>(at::Tensor&, at::Tensor const&, at::Tensor const&, float)::{lambda(c10::BFloat16, bool)#1}, at::detail::Array<char*, 3>)", 1.0}})}),
        data_s);
  } else if (k.kind == "add") {
    // The residual's gradient accumulated into the other branch's (the simulator prices one add).
    Json x = Activation(S(k, "elements"), 2048);
    one(Node("AddBackward0", node_seq,
             {WithKernels(Op("aten::add", {x, x, {}}, {kBf, kBf, "Scalar"}),
                          {{"void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, at::detail::Array<char*, 3>)", 1.0}})}),
        data_s);
  } else if (k.kind == "gelu") {
    Json x = Activation(S(k, "elements"), 2048);
    one(Node("GeluBackward0", node_seq,
             {WithKernels(Op("aten::gelu_backward", {x, x, {}}, {kBf, kBf, ""}),
                          {{"void at::native::vectorized_elementwise_kernel<4, at::native::GeluBackwardCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16, c10::BFloat16)#1}, at::detail::Array<char*, 3> >(int, at::native::GeluBackwardCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(c10::BFloat16, c10::BFloat16)#1}, at::detail::Array<char*, 3>)", 1.0}})}),
        data_s);
  } else if (k.kind == "embedding") {
    int64_t tokens = S(k, "tokens"), hidden = S(k, "hidden");
    AtenOp dense = WithKernels(Op("aten::embedding_dense_backward", {{1, tokens, hidden}, {1, tokens}, {}, {}, {}}, {kBf, kLong, "Scalar", "Scalar", "Scalar"}),
                               {{"void at::native::(anonymous namespace)::krn_partials_per_segment<long>(long*, long const*, long, long)", 0.2},
                                {"void at::native::(anonymous namespace)::compute_grad_weight<c10::BFloat16, long>(long const*, c10::BFloat16 const*, long const*, long, long, long, long const*, long const*, at::acc_type<c10::BFloat16, true>::type*, long)", 0.5},
                                {"void at::native::(anonymous namespace)::sum_and_scatter<c10::BFloat16, long>(long const*, c10::BFloat16*, long, long const*, long const*, at::acc_type<c10::BFloat16, true>::type const*, long const*, long const*, long, long)", 0.3}});
    AtenOp bwd = Op("aten::embedding_backward", {{1, tokens, hidden}, {1, tokens}, {}, {}, {}, {}}, {kBf, kLong, "Scalar", "Scalar", "Scalar", "Scalar"});
    bwd.children = {std::move(dense)};
    one(Node("EmbeddingBackward0", node_seq, {std::move(bwd)}), weight_s);
  } else if (k.kind == "cross_entropy") {
    int64_t tokens = S(k, "tokens"), vocab = S(k, "vocab");
    // Two autograd nodes for one simulator task: the NLL's and the log-softmax's.
    one(Node("NllLossBackward0", node_seq + 1,
             {WithKernels(Op("aten::nll_loss_backward", {{}, {tokens, vocab}, {tokens}, {}, {}, {}, {}}, {"float", "float", kLong, "", "Scalar", "Scalar", "float"}),
                          {{"void at::native::(anonymous namespace)::nll_loss_backward_reduce_cuda_kernel_2d<float, long>(float*, float const*, long const*, float const*, float const*, bool, int, int, long, long)", 1.0}})}),
        0.3 * data_s);
    one(Node("LogSoftmaxBackward0", node_seq,
             {WithKernels(Op("aten::_log_softmax_backward_data", {{tokens, vocab}, {tokens, vocab}, {}, {}}, {"float", "float", "Scalar", "Scalar"}),
                          {{"void at::native::(anonymous namespace)::cunn_SoftMaxBackward<4, float, float, float, at::native::(anonymous namespace)::LogSoftMaxBackwardEpilogue>(float*, float const*, float const*, long)", 1.0}})}),
        0.7 * data_s);
  } else {
    ADD_FAILURE() << "the round trip has no backward form for " << k.ToString();
  }
  return out;
}

AtenOp FusedAdam(const Schedule& s) {
  Json params = Json::array();
  for (const auto& p : s.params) params.push_back(p);
  Json steps = Json::array();
  for (size_t i = 0; i < s.params.size(); ++i) steps.push_back(Json::array());
  AtenOp adam = Op("aten::_fused_adamw_", {params, params, params, params, Json::array(), steps, {}, {}, {}, {}, {}},
                   {"TensorList", "TensorList", "TensorList", "TensorList", "TensorList", "TensorList", "Scalar", "Scalar", "Scalar", "Scalar", "Scalar"});
  std::string fn = "void at::native::(anonymous namespace)::multi_tensor_apply_kernel<at::native::(anonymous namespace)::TensorListMetadata<4>, at::native::(anonymous namespace)::FusedAdamMathFunctor<c10::BFloat16, 4, (at::native::ADAM_MODE)1, false>, double*, double, double, double, double, double, bool, float*, float*>(at::native::(anonymous namespace)::TensorListMetadata<4>, at::native::(anonymous namespace)::FusedAdamMathFunctor<c10::BFloat16, 4, (at::native::ADAM_MODE)1, false>, double*, double, double, double, double, double, bool, float*, float*)";
  adam.kernels = {{fn, 0.4}, {fn, 0.35}, {fn, 0.25}};  // multi_tensor_apply launches per chunk of tensors
  AtenOp step;
  step.name = "Optimizer.step#AdamW.step";
  step.cat = "user_annotation";
  step.children = {std::move(adam)};
  return step;
}

// One training step: forward on thread 1, backward nodes on thread 2 (in the schedule's order,
// both halves of an op in one node), the optimizer on thread 1.
void WriteIteration(TraceWriter& w, const Schedule& s, double scale, int64_t& seq) {
  std::map<std::string, int64_t> node_seq;  // op path -> its backward node's sequence number
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const KnownTask& t = s.tasks[i];
    switch (t.key.phase) {
      case Phase::kFwd: {
        Emitted e = Forward(t, s.model.seq_len, seq);
        node_seq[t.path] = e.node_seq;
        w.Emit(e.forward, 1, t.seconds * scale);
        break;
      }
      case Phase::kBwdData:
      case Phase::kBwdWeight: {
        double data = t.key.phase == Phase::kBwdData ? t.seconds : 0, weight = t.key.phase == Phase::kBwdWeight ? t.seconds : 0;
        if (t.key.phase == Phase::kBwdData && i + 1 < s.tasks.size() && s.tasks[i + 1].path == t.path &&
            s.tasks[i + 1].key.phase == Phase::kBwdWeight)
          weight = s.tasks[++i].seconds;
        KnownTask fwd = t;
        fwd.key.phase = Phase::kFwd;
        for (auto& [node, seconds] : Backward(fwd, node_seq.at(t.path), data * scale, weight * scale))
          w.Emit(node, 2, seconds);
        break;
      }
      case Phase::kStep: w.Emit(FusedAdam(s), 1, t.seconds * scale); break;
    }
  }
}

TEST(KinetoRoundTrip, SimulatedScheduleToTraceToDatabaseAndBack) {
  Schedule s = KnownSchedule();
  ASSERT_GT(s.compute_tasks, 200);
  TraceWriter w;
  int64_t seq = 0;
  std::vector<double> step_s;
  for (int step = 1; step <= 3; ++step) {
    w.OpenStep();
    WriteIteration(w, s, step == 1 ? 1.5 : 1.0, seq);  // the first step warms up, 1.5x slower
    step_s.push_back(w.CloseStep(step, 20));
  }
  TempDir dir("kineto_roundtrip");
  std::string trace_path = dir.Write("uniform-gpt-step.json", w.Doc().dump());

  KinetoTrace t = ReadKinetoTrace(trace_path, {});

  // (a) every key of the schedule measured at its known time; nothing else, nothing unmapped.
  EXPECT_TRUE(t.unmapped.empty()) << t.unmapped.front().name;
  EXPECT_EQ(t.db.ops().size(), s.known.size());
  for (const auto& [key, seconds] : s.known) {
    const OpEntry* e = t.db.FindOp(t.db.ops().count(key) ? t.db.ops().at(key).key : OpKey{});
    ASSERT_TRUE(e) << "no entry for " << key;
    EXPECT_NEAR(e->time.median_s / seconds, 1.0, 1e-9) << key;
    EXPECT_EQ(e->time.method, "trace");
    EXPECT_EQ(e->source, "trace:uniform-gpt-step.json");
  }
  // The summary: steps 2 and 3, compute-bound, idle only the launch lead and the step's tail.
  double trace_iteration_s = (step_s[1] + step_s[2]) / 2;
  ASSERT_EQ(t.summary.iterations.size(), 2u);
  EXPECT_NEAR(t.summary.mean.time_s, trace_iteration_s, 1e-9);
  EXPECT_EQ(t.summary.mean.kernels.unmapped, 0);
  EXPECT_EQ(t.summary.mean.kernels.mapped, t.summary.mean.kernels.total);
  EXPECT_EQ(t.summary.mean.communication_s, 0);
  EXPECT_LT(t.summary.mean.idle_s, 1e-4);

  // (b) the entries as a database layer: every compute task measured, the trace's iteration time.
  std::string db_path = (dir.path() / "measured.json").string();
  t.db.Save(db_path);
  RunSpec spec = Spec();
  spec.databases = {db_path};
  SimulationOutput resim = RunSimulation(Request(spec));
  EXPECT_EQ(resim.report.cost_sources[static_cast<int>(CostSource::kMeasured)], s.compute_tasks);
  EXPECT_EQ(resim.report.cost_sources[static_cast<int>(CostSource::kRoofline)], 0);
  EXPECT_TRUE(resim.unmeasured.empty());
  EXPECT_NEAR(resim.report.iteration_time_s / trace_iteration_s, 1.0, 0.01)
      << "simulated " << resim.report.iteration_time_s << " s, trace " << trace_iteration_s << " s";
  // Not trivially so: the first prediction (roofline) is off by the slowdowns.
  SimulationOutput first = RunSimulation(Request(Spec()));
  EXPECT_GT(std::fabs(first.report.iteration_time_s / trace_iteration_s - 1.0), 0.05);
}

}  // namespace
}  // namespace proteus
