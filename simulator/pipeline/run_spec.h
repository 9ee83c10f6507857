// The inputs of one simulation as a person gives them: names or files for the model and cluster,
// a strategy as shorthand flags or a file, databases to layer. The simulate flags, validation-suite
// cases (proteus.suite/1) and measured runs (proteus.run/1) all produce a RunSpec.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json_file.h"
#include "simulator/strategy/dp_method.h"

namespace proteus {

/// The largest gradient bucket a flag or a case may ask for, in MiB (1 TiB; bytes fit int64).
inline constexpr int64_t kMaxGradBucketMb = int64_t{1} << 20;

/// Shorthand strategy flags, as typed on the command line (0 / empty = not given).
struct StrategyFlags {
  int tp = 1, pp = 1, dp = 0;         // dp 0: fill the cluster (GPUs / (tp*pp*cp))
  int cp = 1;                         // context parallel (ring attention: compile/program_context.cc)
  int ep = 1;                         // expert parallelism, folded into dp (Strategy::expert_parallel)
  int mbs = 1, gbs = 0;               // gbs 0: mbs * dp (one micro-batch per pipeline)
  std::string schedule = "1f1b";      // gpipe | 1f1b | interleaved:V | zb-h1 | zb-v | dualpipev | dualpipe
  int zero = 0;                       // 0..3 (ZeRO stage)
  bool fsdp = false;                  // PyTorch FSDP2: weights, grads, optimizer sharded, one unit per layer
  int fsdp_prefetch = -1;             // -1: the default (1)
  bool reshard_after_forward = true;  // FSDP2's reshard_after_forward
  int hsdp = 0;                       // HSDP shard group size (0: not given, plain FSDP)
  bool overlap_grad_reduce = true;    // buckets reduced while backward runs (Megatron-Core --overlap-grad-reduce)
  bool overlap_param_gather = false;  // Megatron-Core --overlap-param-gather
  bool tp_comm_overlap = false;       // Megatron-Core --tp-comm-overlap
  bool offload_optimizer = false;     // DeepSpeed ZeRO-Offload; with --strategy it sets the file's key
  int offload_activations = 0;        // Megatron-Core cpu_offloading_num_layers (0: off); with --strategy
                                      // it sets the file's key
  std::string overlap_p2p;            // "" (schedule default), "on", "off"
  std::string recompute = "none";     // none | selective | full
  bool sp = false;
  std::string pp_layers;              // "10,12,12,14": layers per stage (uneven split)
  int64_t grad_bucket_mb = 0;         // 0: the default
  // Data-parallel reduction (strategy/dp_method.h); unset: the strategy's (file) or the defaults.
  // Given with a strategy file, they override its "dp_method" / "fusion_*" fields.
  std::string dp_method;              // --dp-method buckets|bsp|wfbp|fusion|mgwfbp
  std::optional<double> fusion_threshold_mb;  // --fusion-threshold-mb (Horovod: 64)
  std::optional<double> fusion_cycle_ms;      // --fusion-cycle-ms (Horovod: 5)
  std::optional<int64_t> ps_servers;          // --ps-servers (dp_method ps; default one per worker node)
  bool ps_colocated = false;                  // --ps-colocated: servers on the worker nodes
  bool ps_separate = false;                   // --ps-separate-servers: servers on hosts of their own (default)
  std::string fp8;                    // --fp8 none | e4m3 | hybrid ("" = not given: none)
  std::string fp8_scaling;            // --fp8-scaling delayed | current ("" = not given: delayed)
  // Memory accounting (strategy/memory_settings.h); unset: the strategy's (file) or the defaults.
  // Given with a strategy file, they override its "precision" / "memory" fields.
  std::string main_grads;             // --main-grads fp32|bf16|fp16
  std::string params;                 // --params compute|fp32
  std::optional<double> reserve_gib;  // --memory-reserve-gib
  std::optional<double> fragmentation;  // --fragmentation
};

struct RunSpec {
  std::string name;                   // case name (suites) or "" (command line)
  std::string model;                  // zoo name, proteus.model/1 file or HF config.json
  Json model_doc;                     // an inline proteus.model/1 document (suite cases); wins when set
  std::string model_origin;           // where model_doc came from ("suite.json: cases[2].model")
  std::string cluster;                // data/clusters name or file
  std::string strategy_file;          // proteus.strategy/1 file; overrides flags when set
  StrategyFlags flags;
  std::vector<std::string> databases; // lowest layer first; later ones win
  std::string dtype;                  // "" keeps the model's
  int64_t seq_len = 0;                // --seq-len: 0 keeps the model's
  bool symmetry = true;
  bool orbit_mirrors = false;         // --orbit-mirrors (compile.h CompileOptions::orbit_mirrors)
  double bandwidth_scale = 1.0;       // what-if: every link this many times as fast
  int64_t max_tasks = 0;              // --max-tasks: the simulation budget (0: the default; compile.h)
};

/// Where each data-parallel knob came from (a flag or a case's field), for messages.
struct DpReductionWhere {
  std::string method = "--dp-method", threshold = "--fusion-threshold-mb", cycle = "--fusion-cycle-ms";
  std::string ps_servers = "--ps-servers", ps_colocated = "--ps-colocated", ps_separate = "--ps-separate-servers";
};
/// `base` (a strategy file's or the defaults) with the given dp_method / fusion / ps flags applied;
/// UserError naming where.* for an unknown method, a knob out of range, a ps knob without method ps
/// or both co-location flags.
DpReduction ApplyDpReductionFlags(const StrategyFlags& f, DpReduction base, const DpReductionWhere& where = {});

/// Metrics a measurement may hold, by name: iteration_time_s, samples_per_s, tokens_per_s,
/// tflops_per_gpu (model FLOPs), hw_tflops_per_gpu (incl. recomputation), mfu, peak_memory_gib.
const std::vector<std::string>& KnownMetrics();

struct Measured {
  std::map<std::string, double> values;
  std::string source;
};

/// Reads a case of a suite or a proteus.run/1 document: {name, model (a name, a file, or an inline
/// {"zoo": ..., "overrides": {...}} object), cluster, strategy: {tp, pp,
/// dp, mbs, gbs, schedule, zero, recompute, sp, pp_layers, fp8, fp8_scaling, fsdp, hsdp, ...} | "file.json",
/// databases, dtype}.
RunSpec RunSpecFromJson(const JsonView& v);
Measured MeasuredFromJson(const JsonView& v);  // {"measured": {...}, "source": "..."}

}  // namespace proteus
