// Mixed clusters priced right: every task as the GPU it runs on (spec, databases, calibration),
// each GPU's memory against its own type, MFU over each GPU's own peak, and symmetry that never
// lets a representative stand for a GPU of another type.
#include <algorithm>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "common/costdb.h"
#include "common/units.h"
#include "simulator/cost/cost_source.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/cost/roofline.h"
#include "simulator/pipeline/simulation.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

constexpr const char* kA100 = "A100-SXM4-80GB";
constexpr const char* kV100 = "V100-SXM2-32GB";

// A 4-layer GPT (hidden 4096, 32 heads) short enough to simulate in a blink.
Json SmallGpt() {
  return Json::parse(R"({"format": "proteus.model/1", "zoo": "gpt3-6.7b", "overrides": {"name": "small-gpt", "num_layers": 4, "vocab": 128,
                         "seq_len": 512, "tied_embeddings": false}})");
}

// hetero-a100-v100: GPUs 0-15 A100 (2 DGX A100), 16-31 V100 (2 DGX-1).
RunSpec HeteroSpec(int tp, int pp, int dp, int gbs) {
  RunSpec s;
  s.model_doc = SmallGpt();
  s.model_origin = "hetero_pricing_test";
  s.cluster = "hetero-a100-v100";
  s.flags.tp = tp;
  s.flags.pp = pp;
  s.flags.dp = dp;
  s.flags.mbs = 1;
  s.flags.gbs = gbs;
  return s;
}

bool OnV100(const ExecGraph& g, const Task& t) { return g.gpus[t.gpu].global_id >= 16; }

// The first forward gelu (the MLP activation) on a GPU of the given side.
const Task* FindGelu(const ExecGraph& g, bool v100) {
  for (const Task& t : g.tasks)
    if (t.cost_key >= 0 && OnV100(g, t) == v100 && t.phase == Phase::kFwd &&
        g.names[t.cost_key].rfind("gelu", 0) == 0)
      return &t;
  return nullptr;
}

// A memory-bound elementwise kernel by hand (cost/roofline.h, cost/efficiency.h):
//   time = overhead + bytes / (ceiling * bw) + 0.5 us (the HBM round trip before the stream flows)
// gelu forward reads and writes each bf16 element once: bytes = 2 * 2 * elements.
double GeluFwdByHand(double elements, double overhead_s, double mem_ceiling, double bw) {
  double bytes = 2.0 * 2.0 * elements;
  return overhead_s + bytes / (mem_ceiling * bw) + 0.5e-6;
}

int64_t Elements(const ExecGraph& g, const Task& t) {
  auto key = ParseOpKey(g.names[t.cost_key]);
  return key->shape.at("elements");
}

TEST(HeteroPricing, V100StageTakesTheV100RooflineNotTheA100One) {
  // pp 2 x dp 2 x tp 8: stage 0 on the A100 nodes, stage 1 on the V100 nodes.
  SimulationRequest req;
  req.spec = HeteroSpec(8, 2, 2, 4);
  SimulationOutput out = RunSimulation(req);
  const Task* v = FindGelu(out.graph, true);
  const Task* a = FindGelu(out.graph, false);
  ASSERT_NE(v, nullptr);
  ASSERT_NE(a, nullptr);
  double elements = static_cast<double>(Elements(out.graph, *v));
  // V100: 2.5 us overhead, 88% of 900 GB/s; A100: 2.0 us, 88% of 2039 GB/s (data/gpus/*.json).
  double v100 = GeluFwdByHand(elements, 2.5e-6, 0.88, 900e9);
  double a100 = GeluFwdByHand(elements, 2.0e-6, 0.88, 2039e9);
  std::printf("gelu fwd, %.0f elements: V100 rank %.3f us (by hand %.3f us), A100 would be %.3f us\n", elements,
              v->duration_s * 1e6, v100 * 1e6, a100 * 1e6);
  EXPECT_NEAR(v->duration_s, v100, 1e-12);
  EXPECT_GT(v100 - a100, 1e-6);  // the two are far apart: an A100-priced V100 task fails the line above
  EXPECT_EQ(Elements(out.graph, *a), Elements(out.graph, *v));
  EXPECT_NEAR(a->duration_s, a100, 1e-12);
  EXPECT_EQ(v->source, CostSource::kRoofline);
}

TEST(HeteroPricing, EachGpuChecksItsOwnTypesMemory) {
  SimulationRequest req;
  req.spec = HeteroSpec(8, 2, 2, 4);
  SimulationOutput out = RunSimulation(req);
  ASSERT_EQ(out.report.per_gpu.size(), 2u);  // symmetric: stages sit on one type each
  EXPECT_EQ(out.report.per_gpu[0].gpu_type, kA100);
  EXPECT_EQ(out.report.per_gpu[0].memory_capacity, 80 * kGiB);
  EXPECT_EQ(out.report.per_gpu[1].gpu_type, kV100);
  EXPECT_EQ(out.report.per_gpu[1].memory_capacity, 32 * kGiB);
  EXPECT_TRUE(out.report.notes.empty());
}

TEST(HeteroPricing, MfuSumsEachGpusOwnPeak) {
  SimulationRequest req;
  req.spec = HeteroSpec(8, 2, 2, 4);
  const Report r = RunSimulation(req).report;
  ASSERT_EQ(r.gpu_types.size(), 2u);
  EXPECT_EQ(r.gpu_type, std::string(kA100) + " + " + kV100);
  EXPECT_EQ(r.gpu_types[0].gpus, 16);
  EXPECT_EQ(r.gpu_types[1].gpus, 16);
  // bf16 peaks: A100 312 TFLOP/s; V100 has no bf16 (nor tf32) tensor cores: its fp32 15.7.
  double denominator = r.iteration_time_s * (16 * 312e12 + 16 * 15.7e12);
  EXPECT_NEAR(r.mfu, r.model_flops / denominator, 1e-12);
  EXPECT_GT(r.mfu, r.model_flops / (r.iteration_time_s * 32 * 312e12) * 1.9);  // not 32 A100 peaks
}

// One GPU and one NIC behind a PCIe switch: a node where a stage has no tensor-parallel traffic.
constexpr const char* kOneGpuXml = R"(<system version="1">
  <cpu numaid="0" affinity="0000ffff" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="85">
    <pci busid="0000:18:00.0" class="0x060400" vendor="0x0000" device="0x0000" link_speed="16.0 GT/s PCIe" link_width="16">
      <pci busid="0000:19:00.0" class="0x030200" vendor="0x10de" device="0x0000" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="0" sm="80" rank="0" gdr="1"/>
      </pci>
      <pci busid="0000:1a:00.0" class="0x020700" vendor="0x15b3" device="0x0000" link_speed="16.0 GT/s PCIe" link_width="16">
        <nic><net name="mlx5_0" dev="0" speed="100000" port="1" latency="0.000000" guid="0x1" maxconn="131072" gdr="1"/></nic>
      </pci>
    </pci>
  </cpu>
</system>)";

// Two one-GPU nodes of the same topology, so links are identical and only compute and memory
// follow the GPU type of node "b".
std::string TwoNodeCluster(const TempDir& dir, const std::string& name, const std::string& b_gpu) {
  dir.Write("one-gpu.xml", kOneGpuXml);
  return dir.Write(name + ".json", R"({"format": "proteus.cluster/1", "name": ")" + name + R"(",
    "node_groups": [{"name": "a", "count": 1, "gpu": "A100-SXM4-80GB", "topology": "one-gpu.xml"},
                    {"name": "b", "count": 1, "gpu": ")" + b_gpu + R"(", "topology": "one-gpu.xml"}],
    "fabric": {"kind": "fat-tree", "transport": "rdma", "nic_gbps": 100, "latency_us": 0, "oversubscription": 1.0}})");
}

// Position in its GPU's compute stream of the last compute task the stage's gradient send waits for.
size_t LastBeforeGradSend(const ExecGraph& g, int gpu) {
  const auto& compute = g.gpus[gpu].streams[static_cast<int>(StreamKind::kCompute)];
  for (TaskId id : g.gpus[gpu].streams[static_cast<int>(StreamKind::kPpComm)]) {
    const Task& send = g.tasks[id];
    if (send.phase == Phase::kFwd) continue;
    size_t last = 0;
    for (int d = 0; d < send.dep_count; ++d)
      for (size_t i = 0; i < compute.size(); ++i)
        if (compute[i] == g.deps[send.dep_begin + d]) last = std::max(last, i);
    return last;
  }
  ADD_FAILURE() << "no gradient send on gpu " << gpu;
  return 0;
}

TEST(HeteroPricing, V100StageSlowsThePipelineByItsOwnComputeTime) {
  TempDir dir("hetero_pricing_pipeline");
  // pp 2 (3 layers + 1), tp 1, dp 1, one micro-batch, fp16 (V100's tensor-core dtype). The path:
  // F0, send, F1, B1 up to its gradient send, send, B0, step0; stage 1's remaining weight
  // gradients and its step run beside B0 (shorter: one layer against three). So the pipeline with
  // its stage 1 on a V100 is slower than the all-A100 one by exactly
  //   sum over stage 1's compute tasks up to the gradient send of (V100 roofline - A100 roofline)
  // each from its own spec (cost/roofline.h), times the task's share.
  RunSpec spec = HeteroSpec(1, 2, 1, 1);
  spec.flags.pp_layers = "3,1";
  spec.dtype = "fp16";
  spec.cluster = TwoNodeCluster(dir, "all-a100", kA100);
  SimulationRequest req;
  req.spec = spec;
  SimulationOutput ref = RunSimulation(req);
  req.spec.cluster = TwoNodeCluster(dir, "a100-v100", kV100);
  SimulationOutput mixed = RunSimulation(req);
  ASSERT_EQ(mixed.report.per_gpu.at(1).gpu_type, kV100);

  GpuSpec a100 = LoadGpuSpec(kA100), v100 = LoadGpuSpec(kV100);
  const auto& compute = mixed.graph.gpus[1].streams[static_cast<int>(StreamKind::kCompute)];
  size_t last = LastBeforeGradSend(mixed.graph, 1);
  double expected = 0;
  for (size_t i = 0; i <= last; ++i) {
    const Task& t = mixed.graph.tasks[compute[i]];
    if (t.cost_key < 0) continue;
    OpKey key = *ParseOpKey(mixed.graph.names[t.cost_key]);
    expected += (Roofline(key, v100).seconds - Roofline(key, a100).seconds) * t.cost_share;
  }
  double delta = mixed.report.iteration_time_s - ref.report.iteration_time_s;
  std::printf("all-A100 %.6f s, A100 + V100 stage %.6f s: +%.6f s, expected +%.6f s (%zu tasks)\n",
              ref.report.iteration_time_s, mixed.report.iteration_time_s, delta, expected, last + 1);
  EXPECT_GT(expected, 0.1 * ref.report.iteration_time_s);
  EXPECT_NEAR(delta, expected, 1e-9 * mixed.report.iteration_time_s);
}

double NoSymmetryTime(RunSpec spec, int* simulated) {
  spec.symmetry = false;
  SimulationRequest req;
  req.spec = spec;
  Report r = RunSimulation(req).report;
  *simulated = r.simulated_gpus;
  return r.iteration_time_s;
}

TEST(HeteroSymmetry, StagesOnDifferentTypesMatchFullSimulation) {
  RunSpec spec = HeteroSpec(4, 2, 4, 8);  // stage 0: A100 nodes; stage 1: V100 nodes
  SimulationRequest req;
  req.spec = spec;
  Report sym = RunSimulation(req).report;
  int full_gpus = 0;
  double full = NoSymmetryTime(spec, &full_gpus);
  EXPECT_EQ(sym.simulated_gpus, 2);
  EXPECT_EQ(full_gpus, 32);
  EXPECT_NEAR(sym.iteration_time_s, full, 1e-9 * full);
}

TEST(HeteroSymmetry, DataParallelAcrossTypesFallsBackToFullSimulation) {
  RunSpec spec = HeteroSpec(8, 1, 4, 4);  // dp replicas 0, 1 on A100 nodes; 2, 3 on V100 nodes
  SimulationRequest req;
  req.spec = spec;
  Report sym = RunSimulation(req).report;
  int full_gpus = 0;
  double full = NoSymmetryTime(spec, &full_gpus);
  EXPECT_EQ(sym.simulated_gpus, 32);  // no A100 representative for the V100 replicas
  ASSERT_EQ(sym.notes.size(), 1u);
  EXPECT_NE(sym.notes[0].find("pipeline rank 0 mixes GPU types (A100-SXM4-80GB, V100-SXM2-32GB)"),
            std::string::npos)
      << sym.notes[0];
  EXPECT_NEAR(sym.iteration_time_s, full, 1e-9 * full);
}

OpEntry Measured(const OpKey& key, double seconds) {
  OpEntry e;
  e.key = key;
  e.time.median_s = seconds;
  e.time.p10_s = e.time.p90_s = seconds;
  e.time.count = 5;
  e.time.method = "cupti_kernel_sum";
  return e;
}

TEST(HeteroPricing, ADatabasePricesOnlyTheGpusOfItsType) {
  // Find the gelu key, then measure it in an "A100" database: A100 ranks take the measurement,
  // V100 ranks keep the V100 roofline (the A100 database must not price them).
  SimulationRequest req;
  req.spec = HeteroSpec(8, 2, 2, 4);
  SimulationOutput plain = RunSimulation(req);
  const Task* v_plain = FindGelu(plain.graph, true);
  ASSERT_NE(v_plain, nullptr);
  OpKey gelu = *ParseOpKey(plain.graph.names[v_plain->cost_key]);

  TempDir dir("hetero_pricing_db");
  CostDb db;
  db.device.name = "NVIDIA A100-SXM4-80GB";
  db.PutOp(Measured(gelu, 123e-6));
  std::string path = (dir.path() / "a100.json").string();
  db.Save(path);
  req.spec.databases = {path};
  SimulationOutput out = RunSimulation(req);
  const Task* a = FindGelu(out.graph, false);
  const Task* v = FindGelu(out.graph, true);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(a->source, CostSource::kMeasured);
  EXPECT_EQ(a->duration_s, 123e-6);
  EXPECT_EQ(v->source, CostSource::kRoofline);
  EXPECT_EQ(v->duration_s, v_plain->duration_s);
}

TEST(HeteroPricing, ACalibrationAppliesToTheGpusOfItsType) {
  Calibration cal;
  cal.gpu = kV100;
  cal.params["kernel_overhead_us"].value = 8;
  cal.provenance = {{"runs", Json::array({"synthetic"})}};
  PreparedSimulation sim(HeteroSpec(8, 2, 2, 4));
  const Report& r = sim.Run(&cal);
  const Task* a = FindGelu(sim.graph(), false);
  const Task* v = FindGelu(sim.graph(), true);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(a->source, CostSource::kRoofline);
  EXPECT_EQ(v->source, CostSource::kCalibrated);
  // kernel overhead 8 us instead of the spec's 2.5 us, the rest of the V100 roofline unchanged.
  double elements = static_cast<double>(Elements(sim.graph(), *v));
  EXPECT_NEAR(v->duration_s, GeluFwdByHand(elements, 8e-6, 0.88, 900e9), 1e-12);
  EXPECT_NE(r.calibration.find(kV100), std::string::npos) << r.calibration;
  EXPECT_EQ(sim.calibration(), nullptr);  // rank 0's type (A100) has none: collectives uncorrected
}

}  // namespace
}  // namespace proteus
