// Activation offload steps of a stage program, as Megatron-Core runs them (core_r0.12:
// TransformerConfig cpu_offloading, cpu_offloading_num_layers = N, cpu_offloading_activations;
// TransformerBlock wraps each layer in Transformer Engine's get_cpu_offload_context and commits a
// group after it). TE's AsyncDoubleBufferGroupOffloadHandler (transformer_engine/pytorch/
// cpu_offload.py, the implementation core_r0.12 calls) decides what runs where; host_offload.h
// prices the copies.
//
// Model. Group g = layer g, g < N; its bytes = the layer's saved activations that TE marks
// (`activation_offloading`: the inputs its Linear / LayerNormLinear / LayerNormMLP keep, norm
// statistics, the MLP's fc1 and activation outputs, attention's q, k, v and output), i.e. all but
// the dropout masks (saved by PyTorch's bias-dropout-add) and the fused attention's softmax
// statistics (its aux_ctx_tensors). W(g) = layer_window_map[g] = (L / N)(g + 1) - 1, plus g + 1
// while g < L % N, else plus L % N (L layers).
//   forward, at layer l's commit (after its last step):
//     l = 0: group 0's copy to the host on the copy stream (d2h_stream waits for the compute stream);
//     l = W(c), c the groups synchronized so far: the compute stream waits for group c's copy, the
//       group's GPU tensors are dropped (freed), group c + 1's copy is issued; c += 1.
//     So one copy runs at a time, and the compute stream stalls at W(c) if it is not done.
//   backward, at the start of layer l's backward (the commit's backward, c = groups not reloaded):
//     l = W(c - 1): the copy stream waits for the compute stream and the compute stream for the
//       earlier reload, then group c - 1's reload is issued (allocated on the GPU as it starts);
//       c -= 1 while c > 1. A layer's reload is issued one window ahead of its backward (prefetch).
//     l = 0: the compute stream waits for every reload.
// Worked example, L = 4, N = 2: W = {1, 3}. Forward: copy 0 after layer 0; after layer 1 a sync
// frees group 0 and issues copy 1; after layer 3 a sync frees group 1. Backward: before layer 3,
// reload group 1; before layer 1, wait for it and reload group 0; before layer 0, wait for it.
#include "simulator/compile/program_builder.h"

namespace proteus::program_build {

namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A zero-time step on the compute stream: the stream waits for `deps` (cudaStreamWaitEvent).
Step SyncStep(ExecGraph& g, const std::string& name, Phase phase, std::vector<int32_t> deps) {
  Step s;
  s.kind = TaskKind::kCompute;
  s.stream = StreamKind::kCompute;
  s.phase = phase;
  s.name = g.Intern(name);
  s.compute_class = g.Intern("sync");
  s.source = CostSource::kFixed;
  s.deps = std::move(deps);
  return s;
}

}  // namespace

auto ProgramBuilder::OffloadsSaved(int i, const SavedTensor& sv) const -> bool {
  int l = ops_[i].layer;
  if (l < 0 || l >= s_.offload_activations) return false;
  return !EndsWith(sv.name, ".mask") && !EndsWith(sv.name, ".lse");
}

auto ProgramBuilder::OffloadWindow(int g) const -> int {
  int layers = 0;
  for (const auto& o : ops_) layers = std::max(layers, o.layer + 1);
  int n = s_.offload_activations, per = layers / n, rem = layers % n;
  return per * (g + 1) - 1 + (g < rem ? g + 1 : rem);
}

auto ProgramBuilder::LastOfLayer(const StageState& st, size_t k) const -> bool {
  int l = ops_[st.ops[k]].layer;
  return l >= 0 && (k + 1 == st.ops.size() || ops_[st.ops[k + 1]].layer != l);
}

namespace {

Step CopyStep(ExecGraph& g, bool to_host, int layer, int64_t bytes, std::vector<int32_t> deps) {
  Step s;
  s.kind = TaskKind::kMemcpy;
  s.stream = StreamKind::kCopy;
  s.phase = to_host ? Phase::kFwd : Phase::kBwdData;
  s.host_op = to_host ? HostOp::kActToHost : HostOp::kActToDevice;
  s.bytes = bytes;
  s.name = g.Intern("layers." + std::to_string(layer) + " activations " + (to_host ? "to host" : "to device"));
  s.compute_class = g.Intern("copy");
  s.source = CostSource::kTopologyModel;
  s.deps = std::move(deps);
  // The reload allocates the layer's tensors again as it starts; its backward frees them.
  if (!to_host) s.mem = {{MemCategory::kActivations, false, bytes}};
  return s;
}

}  // namespace

void ProgramBuilder::AfterLayerForward(StageState& st, std::vector<Step>& list, int layer) {
  const int n = s_.offload_activations;
  const int last = static_cast<int>(list.size()) - 1;
  if (layer == 0) st.group_d2h[0] = Add(list, CopyStep(g_, true, 0, st.group_bytes[0], {last}));
  int c = st.offloaded_groups;
  if (c >= n || OffloadWindow(c) != layer) return;
  Step sync = SyncStep(g_, "layers." + std::to_string(c) + " offload sync", Phase::kFwd, {last, st.group_d2h[c]});
  sync.mem = {{MemCategory::kActivations, true, -st.group_bytes[c]}};
  int s = Add(list, std::move(sync));
  if (c + 1 < n) st.group_d2h[c + 1] = Add(list, CopyStep(g_, true, c + 1, st.group_bytes[c + 1], {s}));
  ++st.offloaded_groups;
}

void ProgramBuilder::BeforeLayerBackward(StageState& st, std::vector<Step>& list, int layer) {
  const int n = s_.offload_activations;
  int c = st.offloaded_groups;
  if (c >= 1 && OffloadWindow(c - 1) == layer && st.group_h2d[c - 1] < 0) {
    std::vector<int32_t> deps;
    if (c < n && st.group_h2d[c] >= 0) deps.push_back(st.group_h2d[c]);  // the earlier reload
    int s = Add(list, SyncStep(g_, "layers." + std::to_string(c - 1) + " reload sync", Phase::kBwdData, deps));
    st.group_h2d[c - 1] = Add(list, CopyStep(g_, false, c - 1, st.group_bytes[c - 1], {s}));
    if (c > 1) --st.offloaded_groups;
  }
  if (layer == 0)
    Add(list, SyncStep(g_, "activation reloads done", Phase::kBwdData, {st.group_h2d[0]}));
}

}  // namespace proteus::program_build
