#include "simulator/strategy/shorthand.h"

#include <cctype>
#include <charconv>
#include <map>

#include "common/checked_math.h"
#include "common/error.h"
#include "simulator/strategy/limits.h"

namespace proteus {
namespace {

// "layers.3.mlp.fc1" -> "layers.*.mlp.fc1": a rule that holds for every block.
std::string GeneralizePath(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    std::string part = path.substr(start, dot - start);
    bool numeric = !part.empty();
    for (char c : part) numeric &= std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (!out.empty()) out += '.';
    out += numeric ? "*" : part;
    start = dot + 1;
  }
  return out;
}


// Per layer-independent path, the partition every op under it asks for; a path whose ops disagree
// (a layer that differs) falls back to one rule per op.
void AddPartitionRules(const Model& model, const ShorthandOptions& o, Strategy& s) {
  struct Group {
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> ops;
  };
  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  VisitModules(model.root, [&](const std::string& path, const Module& m) {
    for (const auto& op : m.ops) {
      std::map<std::string, std::string> part;
      // Context parallelism: every iterated sequence dim on cp (validate.h refuses sp beside it).
      if (const Dim* seq = op.FindDim("s"); o.cp > 1 && seq && !seq->extent_only) part["s"] = "cp";
      if (o.tp > 1) {
        if (auto it = op.attrs.find("tp"); it != op.attrs.end()) part[it->second] = "tp";
        if (o.sequence_parallel)
          if (auto it = op.attrs.find("sp"); it != op.attrs.end()) part[it->second] = "tp";
      }
      std::string op_path = JoinPath(path, op.name);
      std::string g = GeneralizePath(op_path);
      if (!groups.count(g)) order.push_back(g);
      groups[g].ops.emplace_back(op_path, std::move(part));
    }
  });
  for (const auto& g : order) {
    const auto& ops = groups[g].ops;
    bool uniform = true;
    for (const auto& [path, part] : ops) uniform &= part == ops.front().second;
    auto add = [&](const std::string& match, const std::map<std::string, std::string>& part) {
      if (part.empty()) return;
      StrategyRule r{match, {}};
      for (const auto& [dim, axis] : part) r.settings.partition[dim] = axis;
      s.nodes.push_back(std::move(r));
    };
    if (uniform) add(g, ops.front().second);
    else
      for (const auto& [path, part] : ops) add(path, part);
  }
}

const Module* FindChild(const Module& m, const std::string& name) {
  for (const auto& c : m.children)
    if (c.name == name) return &c;
  return nullptr;
}

void AddStageRules(const Model& model, int stages, const std::vector<int>& pp_layers, Strategy& s) {
  const Module* layers = FindChild(model.root, "layers");
  if (!layers || layers->children.empty())
    throw UserError("--pp", "model " + model.name + " has no 'layers' blocks to split into stages; "
                            "give a strategy file with stage rules instead");
  int n = static_cast<int>(layers->children.size());
  std::vector<int> per = LayersPerStage(n, stages, pp_layers);
  bool before = true;
  for (const auto& c : model.root.children) {
    if (&c == layers) {
      int first = 0;
      for (int st = 0; st < stages; ++st) {
        std::string range = "layers.[" + std::to_string(first) + "-" + std::to_string(first + per[st] - 1) + "]";
        s.nodes.push_back({range, {}});
        s.nodes.back().settings.stage = st;
        first += per[st];
      }
      before = false;
      continue;
    }
    s.nodes.push_back({c.name, {}});
    s.nodes.back().settings.stage = before ? 0 : stages - 1;
  }
}

}  // namespace

std::vector<int> LayersPerStage(int layers, int stages, const std::vector<int>& given) {
  if (!given.empty()) {
    if (static_cast<int>(given.size()) != stages)
      throw UserError("--pp-layers", "lists " + std::to_string(given.size()) + " stages but the pipeline has " +
                                         std::to_string(stages) + " (pp x chunks)");
    int sum = 0;
    for (int n : given) {
      if (n < 1) throw UserError("--pp-layers", "every stage needs at least one layer");
      sum += n;
    }
    if (sum != layers)
      throw UserError("--pp-layers", "covers " + std::to_string(sum) + " layers but the model has " +
                                         std::to_string(layers));
    return given;
  }
  if (layers < stages)
    throw UserError("--pp", std::to_string(stages) + " pipeline stages but the model has only " +
                                std::to_string(layers) + " layers (no stage may be empty)");
  // Even split; the remainder goes to the first stages (the last one also holds the output layer).
  std::vector<int> per(stages, layers / stages);
  for (int i = 0; i < layers % stages; ++i) ++per[i];
  return per;
}

Schedule ParseScheduleFlag(const std::string& text, const std::string& flag) {
  Schedule s;
  std::string kind = text;
  size_t colon = text.find(':');
  if (colon != std::string::npos) {
    kind = text.substr(0, colon);
    std::string v = text.substr(colon + 1);
    int chunks = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), chunks);
    if (ec != std::errc() || ptr != v.data() + v.size() || chunks < 1)
      throw UserError(flag, "expected interleaved:<chunks per GPU>, e.g. interleaved:2; got '" + text + "'");
    if (chunks > kMaxScheduleChunks)
      throw UserError(flag, "at most " + std::to_string(kMaxScheduleChunks) + " chunks per GPU, got '" + text + "'");
    s.chunks = chunks;
  }
  auto k = ParseScheduleKind(kind);
  if (!k)
    throw UserError(flag,
                    "expected gpipe, 1f1b, interleaved:<V>, zb-h1, zb-v, dualpipev or dualpipe; got '" + text + "'");
  s.kind = *k;
  if (s.kind != ScheduleKind::kInterleaved && colon != std::string::npos)
    throw UserError(flag, "only interleaved takes a chunk count (" + std::string(ScheduleKindName(s.kind)) +
                                      " fixes its own); got '" + text + "'");
  if (s.kind == ScheduleKind::kInterleaved && colon == std::string::npos)
    throw UserError(flag, "interleaved needs a chunk count, e.g. interleaved:2");
  if (s.kind != ScheduleKind::kInterleaved) s.chunks = FixedChunks(s.kind);
  return s;
}

Strategy ExpandShorthand(const Model& model, const ShorthandOptions& o) {
  if (o.tp < 1) throw UserError("--tp", "must be >= 1");
  if (o.pp < 1) throw UserError("--pp", "must be >= 1");
  if (o.dp < 1) throw UserError("--dp", "must be >= 1");
  if (o.cp < 1) throw UserError("--cp", "must be >= 1");
  if (o.ep < 1) throw UserError("--ep", "must be >= 1");
  if (o.micro_batch < 1) throw UserError("--mbs", "must be >= 1");
  if (o.global_batch < 0) throw UserError("--gbs", "must be >= 1");
  // Beyond the limits (strategy/limits.h), counts downstream would not fit their types.
  auto gpus = CheckedMul({o.tp, o.pp, o.dp, o.cp});
  if (!gpus || *gpus > kMaxMeshGpus)
    throw UserError("--tp/--pp/--dp", "tp x pp x dp x cp = " +
                                          (gpus ? std::to_string(*gpus) : std::string("more than 2^63")) +
                                          " GPUs, more than " + std::to_string(kMaxMeshGpus));
  auto per_step = CheckedMul(o.micro_batch, o.dp);
  if (!per_step || *per_step > kMaxBatch)
    throw UserError("--mbs", "mbs x dp = " + std::to_string(o.micro_batch) + " x " + std::to_string(o.dp) +
                                 " samples per step, more than " + std::to_string(kMaxBatch));
  if (o.global_batch > kMaxBatch)
    throw UserError("--gbs", "at most " + std::to_string(kMaxBatch) + " samples, got " + std::to_string(o.global_batch));
  if (o.zero < 0 || o.zero > 3)
    throw UserError("--zero", "supported stages are 0, 1 (distributed optimizer), 2 (sharded gradients) and 3 "
                              "(sharded weights); got " + std::to_string(o.zero));
  if (o.fsdp && o.zero != 0 && o.zero != 3)
    throw UserError("--fsdp", "FSDP shards weights, gradients and optimizer states (ZeRO-3); it cannot be "
                              "combined with --zero " + std::to_string(o.zero));
  if (o.overlap_param_gather && (o.fsdp || o.zero < 1 || o.zero > 2))
    throw UserError("--overlap-param-gather", "overlaps the distributed optimizer's parameter all-gather; it needs "
                                              "--zero 1 or 2 (sharded weights are gathered per unit anyway)");
  if (o.offload_optimizer && (o.fsdp || o.zero < 1 || o.zero > 2))
    throw UserError("--offload-optimizer", "DeepSpeed ZeRO-Offload offloads a ZeRO optimizer: it needs --zero 1 or 2 "
                                           "(ZeRO-3 / FSDP offload, ZeRO-Infinity, is not modelled)");
  if (int n = o.weight_gather.shard_group; n != 0) {
    if (!o.fsdp)
      throw UserError("--hsdp", "shards FSDP's units inside groups of " + std::to_string(n) + " dp ranks: give --fsdp too");
    if (n <= 1 || n >= o.dp || o.dp % n != 0)
      throw UserError("--hsdp", "the shard group size must divide --dp " + std::to_string(o.dp) +
                                    " and lie strictly between 1 and it (--hsdp " + std::to_string(o.dp) +
                                    " is plain --fsdp); got " + std::to_string(n));
  }
  if (o.tp_comm_overlap && !o.sequence_parallel)
    throw UserError("--tp-comm-overlap", "overlaps the all-gather / reduce-scatter of sequence parallelism; "
                                         "give --sp too (Megatron-Core requires it)");
  auto recompute = ParseRecompute(o.recompute);
  if (!recompute) throw UserError("--recompute", "expected none, selective or full; got '" + o.recompute + "'");

  Strategy s;
  s.origin = "shorthand";
  s.mesh = {{"pp", o.pp}, {"dp", o.dp}, {"tp", o.tp}};
  // Only when asked for: a run without cp keeps the three-axis mesh it always had.
  if (o.cp > 1) s.mesh = {{"pp", o.pp}, {"dp", o.dp}, {"cp", o.cp}, {"tp", o.tp}};
  s.expert_parallel = o.ep;  // validate.h checks it against dp and the model's experts
  s.micro_batch = o.micro_batch;
  s.global_batch = o.global_batch > 0 ? o.global_batch : o.micro_batch * o.dp;
  s.schedule = ParseScheduleFlag(o.schedule, "--schedule");
  s.grad_bucket_bytes = o.grad_bucket_bytes;
  s.overlap_grad_reduce = o.overlap_grad_reduce;
  s.dp_reduction = o.dp_reduction;
  s.overlap_param_gather = o.overlap_param_gather;
  s.tp_comm_overlap = o.tp_comm_overlap;
  s.overlap_p2p_comm = o.overlap_p2p_comm;
  s.offload_optimizer = o.offload_optimizer;
  if (o.offload_activations < 0)
    throw UserError("--offload-activations", "layers to offload must be >= 1 (0: off); got " +
                                                 std::to_string(o.offload_activations));
  s.offload_activations = o.offload_activations;
  s.weight_gather = o.weight_gather;
  s.weight_gather.unit = o.fsdp ? GatherUnit::kBlock : GatherUnit::kOperator;
  s.fp8 = Fp8RecipeFromFlags(o.fp8, o.fp8_scaling);
  s.precision = o.precision;
  s.memory = o.memory;
  s.defaults.partition["b"] = "dp";
  int zero = o.fsdp ? 3 : o.zero;
  if (zero >= 1) s.defaults.optimizer = "dp";
  if (zero >= 2) s.defaults.grads = "dp";
  if (zero >= 3) s.defaults.weights = "dp";
  AddPartitionRules(model, o, s);
  if (s.VirtualStages() > 1) AddStageRules(model, s.VirtualStages(), o.pp_layers, s);
  else if (!o.pp_layers.empty() && o.pp_layers.size() != 1)
    throw UserError("--pp-layers", "given without a pipeline (--pp 1)");
  if (*recompute != Recompute::kNone) {
    if (FindChild(model.root, "layers")) {
      s.nodes.push_back({"layers.*", {}});
      s.nodes.back().settings.recompute = *recompute;
    } else {
      s.defaults.recompute = *recompute;
    }
  }
  return s;
}

}  // namespace proteus
