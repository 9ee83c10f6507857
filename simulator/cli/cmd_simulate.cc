// proteus-sim simulate: one training iteration of a model on a cluster under a strategy.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>

#include "common/json_file.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/output_file.h"
#include "common/units.h"
#include "simulator/calibrate/kineto_trace.h"
#include "simulator/cli/app.h"
#include "simulator/cli/megatron_flags.h"
#include "simulator/compile/compile.h"
#include "simulator/pipeline/simulation.h"
#include "simulator/report/trace.h"

namespace proteus {
namespace {

struct SimulateArgs {
  SimulationRequest request;
  bool json = false;
  std::string trace, manifest, dump_graph, report_file, compare_trace;
  MegatronFlags megatron;
};

// The measured iteration of a PyTorch profiler trace beside the simulated one (the first simulated
// GPU, the one the trace's device stands for in a symmetric run).
Json TraceComparison(const TraceSummary& t, const Report& r) {
  const GpuReport& g = r.per_gpu.front();
  double exposed = 0;
  for (double e : g.exposed_comm_s) exposed += e;
  auto row = [](double measured, double simulated) { return Json{{"measured_s", measured}, {"simulated_s", simulated}}; };
  return {{"device", t.device},
          {"iterations", t.iterations.size()},
          {"simulated_gpu", g.label},
          {"iteration", row(t.mean.time_s, r.iteration_time_s)},
          {"compute", row(t.mean.compute_s, g.compute_s)},
          {"exposed_communication", row(t.mean.exposed_communication_s, exposed)},
          {"idle", row(t.mean.idle_s, g.idle_s)}};
}

void PrintTraceComparison(const Json& c, std::ostream& out) {
  out << "\nMeasured trace (device " << c["device"].get<int64_t>() << ", mean of " << c["iterations"].get<size_t>()
      << " iterations) vs simulated (" << c["simulated_gpu"].get<std::string>() << ")\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-22s %12s %12s %9s\n", "", "measured", "simulated", "error");
  out << buf;
  for (const char* k : {"iteration", "compute", "exposed_communication", "idle"}) {
    double m = c[k]["measured_s"].get<double>(), p = c[k]["simulated_s"].get<double>();
    std::string err = m > 0 ? std::to_string(static_cast<int>(std::lround(100 * (p - m) / m))) + "%" : "-";
    std::snprintf(buf, sizeof buf, "  %-22s %12s %12s %9s\n", k, FormatSeconds(m).c_str(), FormatSeconds(p).c_str(),
                  err.c_str());
    out << buf;
  }
}

void AddStrategyFlags(CLI::App* cmd, StrategyFlags& f) {
  cmd->add_option("--tp", f.tp, "Tensor-parallel degree (Megatron column/row splits)")->check(CLI::PositiveNumber);
  cmd->add_option("--pp", f.pp, "Pipeline-parallel degree (stages)")->check(CLI::PositiveNumber);
  cmd->add_option("--dp", f.dp, "Data-parallel degree (default: fill the cluster)")->check(CLI::PositiveNumber);
  cmd->add_option("--cp", f.cp,
                  "Context-parallel degree (Megatron-Core --context-parallel-size, ring attention as "
                  "--cp-comm-type p2p): every operator runs on seq/cp tokens, attention exchanges K/V blocks "
                  "around the cp ring, gradients are reduced over dp x cp; seq must be divisible by 2 x cp, "
                  "needs fused attention, not with --sp, --ep, ZeRO-2/3, FSDP or offload")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--mbs", f.mbs, "Micro-batch size per data-parallel rank")->check(CLI::PositiveNumber);
  cmd->add_option("--gbs", f.gbs, "Global batch size (default: mbs x dp)")->check(CLI::PositiveNumber);
  cmd->add_option("--schedule", f.schedule,
                  "Pipeline schedule: gpipe, 1f1b (default), interleaved:V, zb-h1 (zero bubble, split backward), "
                  "zb-v (zero bubble, 2 chunks per GPU in a V), dualpipev (DeepSeek DualPipeV: 2 chunks in a V, "
                  "F&B pairs, needs micro-batches >= 2 pp) or dualpipe (DeepSeek DualPipe: micro-batches from both "
                  "ends, each GPU holds stages r and pp-1-r (2x parameters), needs an even pp and an even number "
                  "of micro-batches >= 2 pp)")
      ->capture_default_str();
  cmd->add_option("--zero", f.zero,
                  "ZeRO stage: 0; 1 distributed optimizer (Adam states sharded over dp); 2 also gradients; 3 also "
                  "weights, gathered per operator as DeepSpeed ZeRO-3 does")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--fsdp", f.fsdp,
                "PyTorch FSDP2 (fully_shard per layer): weights, gradients and optimizer states sharded over dp, "
                "each layer's weights all-gathered before its forward and again before its backward");
  cmd->add_option("--fsdp-prefetch", f.fsdp_prefetch,
                  "Sharded weights (--fsdp, --zero 3): units all-gathered ahead of the running one (default 1)")
      ->check(CLI::Range(0, 64));
  cmd->add_flag("!--no-reshard-after-forward", f.reshard_after_forward,
                "Sharded weights: keep each unit's gathered weights from forward to backward (FSDP2 "
                "reshard_after_forward=False) instead of gathering them again");
  cmd->add_option("--ep", f.ep,
                  "Expert parallelism for mixture-of-experts models (Megatron-Core --expert-model-parallel-size), "
                  "folded into dp: routed experts sharded over groups of N consecutive dp ranks, tokens "
                  "dispatched and combined by all-to-alls in the group, expert gradients reduced over dp/N; N "
                  "divides dp and the number of experts; refused on dense models")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--hsdp", f.hsdp,
                  "HSDP (PyTorch FSDP2 fully_shard on a (replicate, shard) mesh; needs --fsdp): shard weights, "
                  "gradients and optimizer states over groups of N consecutive dp ranks (8: one node with tp 1), "
                  "replicated across the dp/N groups; per layer, gradients reduce-scattered in the group, then "
                  "all-reduced across groups (1 < N < dp, N divides dp)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--overlap-grad-reduce,!--no-overlap-grad-reduce", f.overlap_grad_reduce,
                "Reduce each gradient bucket while backward runs (default on, as Megatron-Core's --overlap-grad-reduce "
                "and PyTorch DDP do); --no-overlap-grad-reduce: all reductions after backward (Megatron without the "
                "flag)");
  cmd->add_flag("--overlap-param-gather", f.overlap_param_gather,
                "Distributed optimizer: all-gather the updated parameters during the next forward, bucket by "
                "bucket, not after the optimizer step (Megatron-Core; default off)");
  cmd->add_flag("--offload-optimizer", f.offload_optimizer,
                "DeepSpeed ZeRO-Offload (offload_optimizer device cpu; needs --zero 1 or 2): fp32 master weights and "
                "Adam states in CPU memory, gradient shards copied to the CPU over PCIe during backward, Adam on "
                "the CPU, updated bf16 shards copied back before the parameter all-gather");
  cmd->add_option("--offload-activations", f.offload_activations,
                  "Megatron-Core activation offload (--cpu-offloading --cpu-offloading-num-layers N, Transformer "
                  "Engine cpu_offload): the first N transformer layers' saved activations copied to the CPU over "
                  "PCIe after their forward and back, prefetched, before their backward; 0 < N < layers, pp 1, no "
                  "--recompute (Megatron refuses both); default 0, off");
  cmd->add_flag("--tp-comm-overlap", f.tp_comm_overlap,
                "Pipeline the sequence-parallel all-gather / reduce-scatter with the GEMMs they feed, in tp "
                "chunks (Transformer Engine userbuffers; needs --sp; default off)");
  cmd->add_option("--overlap-p2p", f.overlap_p2p,
                  "Pipeline sends beside compute: on, off (default: on for interleaved, off otherwise, as "
                  "Megatron-Core runs them)")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--recompute", f.recompute, "Activation recomputation: none, selective, full")
      ->capture_default_str();
  cmd->add_flag("--sp", f.sp, "Megatron sequence parallelism (with --tp)");
  cmd->add_option("--pp-layers", f.pp_layers, "Layers per stage for an uneven split, e.g. 10,12,12,14");
  cmd->add_option("--grad-bucket-mb", f.grad_bucket_mb, "Gradient bucket size in MiB (default 25)")
      ->check(CLI::PositiveNumber);
  // Checked by ApplyDpReductionFlags (pipeline/run_spec.h), so that a bad value exits 2 naming the flag.
  cmd->add_option("--dp-method", f.dp_method,
                  "Data-parallel gradient reduction: buckets (default: PyTorch DDP / Megatron buckets of "
                  "--grad-bucket-mb), bsp (one all-reduce after the backward), wfbp (one all-reduce per gradient "
                  "tensor as it is produced), fusion (Horovod tensor fusion, --fusion-threshold-mb, "
                  "--fusion-cycle-ms), mgwfbp (MG-WFBP: adjacent gradients merged by the alpha-beta cost of the "
                  "cluster's all-reduce), ps (BytePS parameter server: per tensor a reduce inside the node, push "
                  "of 4096000-byte pieces to the servers round-robin, CPU sum, pull, broadcast; --ps-servers, "
                  "--ps-colocated)");
  cmd->add_option_function<double>(
      "--fusion-threshold-mb", [&f](double x) { f.fusion_threshold_mb = x; },
      "--dp-method fusion: Horovod's fusion buffer in MiB (HOROVOD_FUSION_THRESHOLD; default 64, 0: no fusion)");
  cmd->add_option_function<double>(
      "--fusion-cycle-ms", [&f](double x) { f.fusion_cycle_ms = x; },
      "--dp-method fusion: Horovod's background cycle in ms (HOROVOD_CYCLE_TIME; default 5)");
  cmd->add_option_function<int64_t>(
      "--ps-servers", [&f](int64_t n) { f.ps_servers = n; },
      "--dp-method ps: server hosts (default: one per worker node)");
  cmd->add_flag("--ps-colocated", f.ps_colocated,
                "--dp-method ps: servers run on the worker nodes and share their NICs (at most one per node)");
  cmd->add_flag("--ps-separate-servers", f.ps_separate,
                "--dp-method ps: servers are CPU hosts of their own, each with a NIC as fast as a worker's "
                "(the default)");
  cmd->add_option("--fp8", f.fp8,
                  "Transformer Engine fp8 GEMMs in the transformer blocks' Linear layers: none (default), e4m3, "
                  "hybrid (backward GEMMs e5m2); weights, activations, gradients stay bf16");
  cmd->add_option("--fp8-scaling", f.fp8_scaling,
                  "fp8 scaling recipe: delayed (default, amax history) or current (tensorwise: an amax pass "
                  "before each cast)");
  // Memory accounting (docs/strategies.md, "Memory"); with --strategy they override its fields.
  cmd->add_option("--main-grads", f.main_grads,
                  "Main-gradient dtype: fp32 (default, Megatron-Core: 18 bytes/param, 6 + 12/dp with --zero 1) "
                  "or bf16 (--grad-reduce-in-bf16; DeepSpeed ZeRO's 16 bytes/param)");
  cmd->add_option("--params", f.params,
                  "Parameter storage: compute (default: compute dtype + fp32 master copy) or fp32 (FSDP2: fp32 "
                  "parameters cast when used, no master copy)");
  cmd->add_option_function<double>(
      "--memory-reserve-gib", [&f](double x) { f.reserve_gib = x; },
      "Fixed memory per GPU outside tensors: CUDA context, kernels, cuBLAS workspaces, NCCL (default 1)");
  cmd->add_option_function<double>(
      "--fragmentation", [&f](double x) { f.fragmentation = x; },
      "Allocator fragmentation factor on activations and transient buffers, 1..2 (default 1.1; 1 = "
      "expandable segments)");
}

// Every output path named on the command line, with its flag, checked before any simulation work.
std::vector<std::pair<std::string, std::string>> OutputPaths(const SimulateArgs& a) {
  std::vector<std::pair<std::string, std::string>> paths;
  for (const auto& [path, flag] : {std::pair{a.report_file, "--report"}, std::pair{a.trace, "--trace"},
                                   std::pair{a.manifest, "--emit-manifest"}, std::pair{a.dump_graph, "--dump-graph"}})
    if (!path.empty()) paths.emplace_back(path, flag);
  return paths;
}

bool IsStream(const std::string& path) {
  std::error_code ec;
  return path == "-" || (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec));
}

// Each file written is appended to `written` (streams are not: nothing of theirs can be taken back).
void WriteFiles(const SimulateArgs& a, const SimulationOutput& sim, const Json& report, std::vector<std::string>* written) {
  auto done = [written](const std::string& path) {
    if (!IsStream(path)) written->push_back(path);
  };
  if (!a.dump_graph.empty()) {
    std::ostringstream ss;
    DumpGraph(sim.graph, ss);
    WriteFileAtomic(a.dump_graph, ss.str());
    done(a.dump_graph);
  }
  if (!a.trace.empty()) {
    int64_t bytes = WriteChromeTrace(sim.graph, sim.result, a.trace);
    done(a.trace);
    // On stderr (stdout may be the report): where the trace went and how big it is.
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    LogInfo("trace: " + a.trace + ", " + size + " (" + std::to_string(bytes) + " bytes); open it in ui.perfetto.dev");
  }
  if (!a.manifest.empty()) {
    Manifest m;
    m.device = sim.gpu_type;
    m.ops = sim.unmeasured;
    m.Save(a.manifest);
    done(a.manifest);
  }
  if (!a.report_file.empty()) WriteJsonFile(a.report_file, report);
}

// Writes the files, then prints. When one file fails, the files this run already wrote are removed,
// so a failed run leaves no output that looks like a finished one.
void WriteOutputs(const SimulateArgs& a, const SimulationOutput& sim, const std::optional<TraceSummary>& measured,
                  std::ostream& out) {
  Json report = ReportToJson(sim.report);
  if (measured) report["trace_comparison"] = TraceComparison(*measured, sim.report);
  std::vector<std::string> written;
  try {
    WriteFiles(a, sim, report, &written);
  } catch (...) {
    for (const auto& path : written) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
    throw;
  }
  if (a.json) {
    out << JsonText(report) << "\n";
    return;
  }
  PrintReportTable(sim.report, out);
  if (measured) PrintTraceComparison(report["trace_comparison"], out);
}

}  // namespace

void AddSimulateCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("simulate", "Predict one training iteration: time, throughput, MFU, memory");
  auto args = std::make_shared<SimulateArgs>();
  RunSpec& spec = args->request.spec;
  cmd->add_option("--model", spec.model,
                  "Zoo name (gpt3-175b, llama3-70b, ...), proteus.model/1 file or HF config.json (required unless "
                  "--from-megatron-args)");
  cmd->add_option("--cluster", spec.cluster, "Cluster name in data/clusters (dgx-h100-128, ...) or proteus.cluster/1 file")
      ->required();
  cmd->add_option("--strategy", spec.strategy_file, "Strategy file (proteus.strategy/1); replaces the shorthand flags");
  AddStrategyFlags(cmd, spec.flags);
  AddMegatronFlags(cmd, args->megatron);
  cmd->add_option("--db", spec.databases, "Cost database(s); later ones override earlier ones (repeatable). On a cluster mixing GPU "
                  "types, each prices only the GPUs of its own type (every task is priced as its GPU)");
  cmd->add_option("--seq-len", spec.seq_len,
                  "Sequence length (tokens per sample) of a transformer: replaces the zoo's, the file's or the HF "
                  "config's (refused for a module-tree file and for models without a sequence: ResNet, AlexNet, VGG, Inception-v3)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", spec.dtype, "Compute dtype: bf16 (default), fp16, fp32, or fp8_e4m3 (whole-model fp8, every tensor one byte; "
                  "not Transformer Engine: see --fp8)");
  cmd->add_option("--bandwidth-scale", spec.bandwidth_scale,
                  "What-if: multiply every link bandwidth (NVLink, PCIe, NICs, fabric) by this factor")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-symmetry", [&spec](int64_t) { spec.symmetry = false; },
                "Simulate every GPU instead of one per symmetry class (a pipeline rank mixing GPU types is always "
                "simulated in full)");
  cmd->add_flag("--orbit-mirrors", spec.orbit_mirrors,
                "Under symmetry, load every unsimulated replica's links as its representative loads its own "
                "(default: only mirror groups on the simulated group's nodes, and only their flows crossing its "
                "links). Closer to --no-symmetry where groups share NICs and PCIe switches (tp below the GPUs of a "
                "node), and there much faster: the mirrored hops fold into few classes. Slower at tp 8 on 16k+ GPUs");
  cmd->add_option("--max-tasks", spec.max_tasks,
                  "Simulation budget: the most tasks the execution graph may hold (default 6000000, ~1 GiB). "
                  "A larger run is refused before it is built, saying its size (--no-symmetry on many GPUs, "
                  "very many micro-batches)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--explain", args->request.explain_only, "Print the expanded strategy tree and stop");
  args->request.fit_advice = true;  // an out-of-memory verdict says what would fit
  cmd->add_flag("--json", args->json, "Print the report as JSON (proteus.report/1)");
  cmd->add_option("--report", args->report_file, "Also write the JSON report to this file");
  cmd->add_option("--trace", args->trace, "Write a Chrome/Perfetto trace (one process per simulated GPU)");
  cmd->add_option("--emit-manifest", args->manifest,
                  "Write the operators estimated without a measurement (for proteus-profile ops --manifest; on a "
                  "mixed cluster, every GPU type's)");
  cmd->add_option("--dump-graph", args->dump_graph, "Write the execution graph as text");
  cmd->add_option("--compare-trace", args->compare_trace,
                  "PyTorch profiler (Kineto) trace of the same job: print its measured iteration beside the "
                  "simulated one");
  cmd->callback([&out, args, cmd] {
    ApplyMegatronFlags(args->megatron, *cmd, args->request.spec);
    // Read first: a bad trace fails before any simulation work or output.
    for (const auto& [path, flag] : OutputPaths(*args)) CheckOutputPath(path, flag);
    std::optional<TraceSummary> measured;
    if (!args->compare_trace.empty()) measured = ReadKinetoTrace(args->compare_trace, {}).summary;
    SimulationOutput sim = RunSimulation(args->request);
    if (args->request.explain_only) {
      out << sim.explain;
      return;
    }
    WriteOutputs(*args, sim, measured, out);
  });
}

}  // namespace proteus
