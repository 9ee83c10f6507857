// Fakes for compile tests: a collective model (latency 1 us + bytes / 100 GB/s, no flows), a coster
// (1 us + FLOPs / 100 TFLOP/s), a one-node cluster without links, and helpers over the graph.
#pragma once

#include <string>

#include "simulator/compile/compile.h"
#include "simulator/model/transformer.h"
#include "simulator/strategy/shorthand.h"

namespace proteus::testing {

class FakeCollectives : public CollectiveModel {
 public:
  CollectivePlan Plan(const CollectiveRequest& r) const override {
    CollectivePlan p;
    p.algo = "fake";
    p.proto = "simple";
    p.latency_s = 1e-6;
    p.time_s = 1e-6 + static_cast<double>(r.bytes) / 1e11;
    p.source = "topology-model";
    return p;
  }
};

class FakeCoster : public OpCoster {
 public:
  TaskCost Cost(const Operator& local, Phase phase) const override {
    return {1e-6 + local.ForwardFlops() / 1e14, CostSource::kRoofline,
            local.kind == OpKind::kLinear ? "gemm" : "other", ""};
  }
  TaskCost StepCost(int64_t params, DType) const override {
    return {1e-6 + static_cast<double>(params) * 1e-11, CostSource::kRoofline, "elementwise", ""};
  }
  // Keys (fp8 casts: copies) at 1 us + bytes / 1 TB/s.
  TaskCost KeyCost(const OpKey& key) const override {
    return {1e-6 + static_cast<double>(key.shape.at("bytes")) / 1e12, CostSource::kRoofline, "copy", key.ToString()};
  }
};

inline Cluster FakeCluster(int gpus) {
  Cluster c;
  c.name = "fake";
  NodeGroup g;
  g.name = "g";
  g.count = 1;
  g.gpu_type = "fake-gpu";
  g.gpus_per_node = gpus;
  c.groups = {g};
  c.gpu_node.assign(gpus, 0);
  c.gpu_group.assign(gpus, 0);
  c.gpu_vertex.assign(gpus, 0);
  return c;
}

/// A 2-layer GPT with attention and MLP blocks: h 64, 4 heads, s 16, vocab 128.
inline Model SmallGpt(int layers = 2, bool fused = true) {
  TransformerConfig c;
  c.name = "small-gpt";
  c.num_layers = layers;
  c.hidden = 64;
  c.num_heads = 4;
  c.vocab = 128;
  c.seq_len = 16;
  c.fused_attention = fused;
  c.tied_embeddings = false;
  return BuildTransformer(c, "test");
}

struct Job {
  Model model;
  Strategy strategy;
  Cluster cluster;
  FakeCollectives collectives;
  FakeCoster coster;

  CompileResult Run(bool symmetry = true) const {
    CompileInputs in;
    in.model = &model;
    in.strategy = &strategy;
    in.cluster = &cluster;
    in.collectives = &collectives;
    in.coster = &coster;
    in.gpu_memory = [](GpuId) { return int64_t{80} << 30; };
    CompileOptions o;
    o.symmetry = symmetry;
    return Compile(in, o);
  }
};

inline Job MakeJob(Model model, const ShorthandOptions& o) {
  Job j{std::move(model), {}, FakeCluster(o.tp * o.pp * o.dp), {}, {}};
  j.strategy = ExpandShorthand(j.model, o);
  return j;
}

/// Tasks of simulated GPU `gpu` whose name contains `part` (and, if given, in micro-batch `mb`).
inline int CountTasks(const ExecGraph& g, int gpu, const std::string& part, int mb = -2) {
  int n = 0;
  for (const auto& t : g.tasks)
    if (t.gpu == gpu && std::string(g.NameOf(t)).find(part) != std::string::npos && (mb == -2 || t.microbatch == mb))
      ++n;
  return n;
}

}  // namespace proteus::testing
