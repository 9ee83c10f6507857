#include "simulator/calibrate/megatron_log.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_file.h"
#include "common/log.h"
#include "simulator/pipeline/megatron_args.h"

namespace proteus {
namespace {

// Integers in a log are bounded so that products (tp x pp x cp) and casts to int stay exact.
constexpr int64_t kMaxInt = (int64_t{1} << 31) - 1;

// ---------------------------------------------------------------------------------------------
// Text helpers.

struct Line {
  std::string_view text;
  int number;  // 1-based; segments of one line split at '\r' (progress bars) share it
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  int number = 1;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back({text.substr(start, i - start), number});
    if (i < text.size() && text[i] == '\n') ++number;
    start = i + 1;
  }
  return lines;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool Contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

// Launchers prefix each line with the rank: torchrun --tee "[default0]:", srun -l "0: ".
std::string_view StripRankPrefix(std::string_view s) {
  if (StartsWith(s, "[default")) {
    size_t end = s.find("]:");
    if (end != std::string_view::npos) return s.substr(end + 2);
  }
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i > 0 && s.substr(i, 2) == ": ") return s.substr(i + 2);
  return s;
}

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInteger(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quoted(std::string_view s) {
  constexpr size_t kShown = 40;  // a damaged line can be long; the start is what identifies it
  return "\"" + std::string(s.substr(0, kShown)) + (s.size() > kShown ? "...\"" : "\"");
}

std::string LineWhere(const std::string& path, int line) { return path + ": line " + std::to_string(line); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Arguments: Megatron's dump, NeMo's YAML config, the caller's fallback; Megatron names.

// Values as printed; where: "train.log: line 12" or "runs.json: runs[0].log_args.num_layers".
using Arg = MegatronArg;
using Args = MegatronArgs;

// "  name ........ value" (Megatron prints one space, a run of dots, one space; a name of 48 or
// more characters gets no dots).
void ReadArgumentLine(std::string_view text, const std::string& where, Args& args) {
  text = Trim(text);
  size_t space = text.find(' ');
  if (space == std::string_view::npos || space == 0) return;
  std::string_view rest = text.substr(space);
  rest = Trim(rest);
  while (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
  args[std::string(text.substr(0, space))] = {std::string(Trim(rest)), where};
}

// Later dumps (a restarted job appends to the same log) replace earlier values.
void ReadArgumentDumps(const std::vector<Line>& lines, const std::string& path, Args& args) {
  bool inside = false;
  for (const Line& l : lines) {
    std::string_view t = StripRankPrefix(l.text);
    if (Contains(t, "-- arguments --") || Contains(t, "- arguments -")) inside = true;
    else if (Contains(t, "end of arguments")) inside = false;
    else if (inside) ReadArgumentLine(t, LineWhere(path, l.number), args);
  }
}

// " > padded vocab (size: 50257) with 175 dummy tokens (new size: 50432)" (Megatron) and
// "Padded vocab_size: 50304, original vocab_size: 50257, dummy tokens: 47." (NeMo): the tokenizer
// is built after the argument dump, so the padded size is printed apart from it.
void ReadPaddedVocab(const std::vector<Line>& lines, const std::string& path, Args& args) {
  static const std::pair<std::string_view, std::string_view> kMarkers[] = {{"padded vocab", "new size:"},
                                                                           {"Padded vocab_size", "vocab_size:"}};
  for (const Line& l : lines) {
    for (const auto& [line_marker, value_marker] : kMarkers) {
      size_t at = l.text.find(line_marker);
      if (at == std::string_view::npos) continue;
      at = l.text.find(value_marker, at);
      if (at == std::string_view::npos) continue;
      std::string_view rest = Trim(l.text.substr(at + value_marker.size()));
      size_t end = 0;
      while (end < rest.size() && IsDigit(rest[end])) ++end;
      if (end > 0) args["padded_vocab_size"] = {std::string(rest.substr(0, end)), LineWhere(path, l.number)};
    }
  }
}

// NeMo's config dump as dotted paths: "model:\n  optim:\n    name: x" -> {"model.optim.name": x}.
// Only "key: value" lines are read; list items and other log lines pass by.
std::map<std::string, Arg> ReadYaml(const std::vector<Line>& lines, const std::string& path) {
  std::map<std::string, Arg> yaml;
  std::vector<std::pair<size_t, std::string>> stack;  // (indent, key) of the open sections
  for (const Line& l : lines) {
    std::string_view t = l.text;
    size_t indent = 0;
    while (indent < t.size() && t[indent] == ' ') ++indent;
    size_t key_end = indent;
    while (key_end < t.size() && (std::isalnum(static_cast<unsigned char>(t[key_end])) || t[key_end] == '_')) ++key_end;
    bool is_key = key_end > indent && key_end < t.size() && t[key_end] == ':' &&
                  (key_end + 1 == t.size() || t[key_end + 1] == ' ');
    if (!is_key) {
      if (indent == 0 && !t.empty()) stack.clear();
      continue;
    }
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    std::string key;
    for (const auto& [_, k] : stack) key += k + ".";
    key += std::string(t.substr(indent, key_end - indent));
    std::string_view value = Trim(t.substr(key_end + 1));
    if (size_t hash = value.find(" #"); hash != std::string_view::npos) value = Trim(value.substr(0, hash));
    if (value.empty()) {
      stack.emplace_back(indent, std::string(t.substr(indent, key_end - indent)));
      continue;
    }
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    yaml[key] = {std::string(value), LineWhere(path, l.number)};
  }
  return yaml;
}

// NeMo config keys -> Megatron argument names (same meaning, NeMo's spelling).
void TranslateNemo(const std::map<std::string, Arg>& yaml, Args& args) {
  static const std::vector<std::pair<const char*, const char*>> kSame = {
      {"model.num_layers", "num_layers"},
      {"model.hidden_size", "hidden_size"},
      {"model.ffn_hidden_size", "ffn_hidden_size"},
      {"model.num_attention_heads", "num_attention_heads"},
      {"model.num_query_groups", "num_query_groups"},
      {"model.encoder_seq_length", "seq_length"},
      {"model.max_position_embeddings", "max_position_embeddings"},
      {"model.micro_batch_size", "micro_batch_size"},
      {"model.global_batch_size", "global_batch_size"},
      {"model.tensor_model_parallel_size", "tensor_model_parallel_size"},
      {"model.pipeline_model_parallel_size", "pipeline_model_parallel_size"},
      {"model.virtual_pipeline_model_parallel_size", "virtual_pipeline_model_parallel_size"},
      {"model.context_parallel_size", "context_parallel_size"},
      {"model.sequence_parallel", "sequence_parallel"},
      {"model.activations_checkpoint_granularity", "recompute_granularity"},
      {"model.activations_checkpoint_method", "recompute_method"},
      {"model.make_vocab_size_divisible_by", "make_vocab_size_divisible_by"},
      {"model.position_embedding_type", "position_embedding_type"},
      {"model.hidden_dropout", "hidden_dropout"},
      {"model.attention_dropout", "attention_dropout"},
      {"model.num_moe_experts", "num_experts"}};
  auto put = [&](const char* name, std::string value, const std::string& where) {
    if (!args.count(name)) args[name] = {std::move(value), where};
  };
  for (const auto& [from, to] : kSame)
    if (auto it = yaml.find(from); it != yaml.end()) put(to, it->second.value, it->second.where);
  auto find = [&](const char* key) { return yaml.find(key); };
  if (auto it = find("model.activation"); it != yaml.end())
    put("swiglu", Contains(it->second.value, "swiglu") ? "True" : "False", it->second.where);
  if (auto it = find("model.normalization"); it != yaml.end())
    put("normalization", it->second.value == "rmsnorm" ? "RMSNorm" : "LayerNorm", it->second.where);
  if (auto it = find("model.share_embeddings_and_output_weights"); it != yaml.end())
    put("untie_embeddings_and_output_weights", it->second.value == "False" || it->second.value == "false" ? "True" : "False",
        it->second.where);
  if (auto it = find("model.optim.name"); it != yaml.end())
    put("use_distributed_optimizer", StartsWith(it->second.value, "distributed") ? "True" : "False", it->second.where);
  if (auto it = find("trainer.precision"); it != yaml.end()) {
    // Lightning spells precision 16, "16-mixed", "bf16", "bf16-mixed", 32.
    const std::string& p = it->second.value;
    put("bf16", StartsWith(p, "bf16") ? "True" : "False", it->second.where);
    put("fp16", StartsWith(p, "16") || StartsWith(p, "fp16") ? "True" : "False", it->second.where);
  }
  auto devices = find("trainer.devices"), nodes = find("trainer.num_nodes");
  if (devices != yaml.end()) {
    auto d = ParseInteger(devices->second.value);
    auto n = nodes == yaml.end() ? std::optional<int64_t>(1) : ParseInteger(nodes->second.value);
    if (!d || !n || *d <= 0 || *n <= 0 || *d > kMaxInt || *n > kMaxInt)
      throw UserError(devices->second.where, "trainer.devices and trainer.num_nodes: expected positive integers");
    put("world_size", std::to_string(*d * *n), devices->second.where);
  }
  if (auto it = find("model.num_query_groups"); it != yaml.end() && it->second.value != "null")
    put("group_query_attention", "True", it->second.where);
  if (auto it = find("model.num_layers"); it != yaml.end()) {
    // NeMo's GPT models run Transformer Engine attention (flash or cuDNN fused).
    put("transformer_impl", "transformer_engine", it->second.where);
  }
}

// ---------------------------------------------------------------------------------------------
// Timed steps.

struct Step {
  double seconds = 0;
  int line = 0;
  int64_t skipped = 0;
  std::optional<int64_t> step;  // NeMo: the global step, to keep one sample per step
  std::map<std::string, double> metrics;  // per-line measured values (tflops_per_gpu, ...)
};

// The metric a field of an iteration line holds, if any. "TFLOPs" is Megatron-DeepSpeed's, which
// counts recomputation; Megatron-LM's "throughput per GPU" counts model FLOPs only.
std::optional<std::string> MetricOfField(std::string_view name) {
  if (name == "throughput per GPU (TFLOP/s/GPU)") return "tflops_per_gpu";
  if (name == "TFLOPs") return "hw_tflops_per_gpu";
  if (name == "samples per second") return "samples_per_s";
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (Contains(lower, "token") && !Contains(lower, "gpu") &&
      (Contains(lower, "/s") || Contains(lower, "per second") || Contains(lower, "per sec")))
    return "tokens_per_s";
  return std::nullopt;
}

double PositiveValue(std::string_view name, std::string_view value, const std::string& where) {
  auto v = ParseNumber(value);
  if (!v || *v <= 0) throw UserError(where, std::string(name) + ": expected a positive number, got " + Quoted(value));
  return *v;
}

// One Megatron iteration line ("iteration N/ M | name: value | ... |"), or nullopt if `text` is
// not one.
std::optional<Step> ParseIterationLine(std::string_view text, const std::string& where) {
  std::string_view t = Trim(StripRankPrefix(text));
  if (StartsWith(t, "[")) {
    size_t close = t.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t = Trim(t.substr(close + 1));
  }
  if (!StartsWith(t, "iteration ")) return std::nullopt;
  std::string_view counter = Trim(t.substr(10));
  if (counter.empty() || !IsDigit(counter.front())) return std::nullopt;
  if (t.back() != '|' || !Contains(t.substr(0, t.find('|')), "/"))
    throw UserError(where, "truncated iteration line (expected \"iteration N/ M | ... |\"): " + Quoted(t));
  Step s;
  bool timed = false;
  size_t start = t.find('|') + 1;
  for (size_t bar; (bar = t.find('|', start)) != std::string_view::npos; start = bar + 1) {
    std::string_view field = Trim(t.substr(start, bar - start));
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = Trim(field.substr(0, colon)), value = Trim(field.substr(colon + 1));
    if (name == "elapsed time per iteration (ms)") {
      s.seconds = PositiveValue(name, value, where) / 1000;
      timed = true;
    } else if (name == "number of skipped iterations") {
      auto v = ParseInteger(value);
      if (!v || *v < 0) throw UserError(where, std::string(name) + ": expected a count, got " + Quoted(value));
      s.skipped = *v;
    } else if (auto metric = MetricOfField(name)) {
      s.metrics[*metric] = PositiveValue(name, value, where);
    }
  }
  if (!timed) throw UserError(where, "truncated iteration line (no \"elapsed time per iteration (ms)\" field)");
  return s;
}

// The number after `key` and a separator ('=' or ':'), as text; nullopt if `key` is absent.
std::optional<std::string_view> ValueAfter(std::string_view t, std::string_view key) {
  size_t at = t.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = t.substr(at + key.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '=' || rest.front() == ':')) rest.remove_prefix(1);
  size_t end = 0;
  while (end < rest.size() && rest[end] != ',' && rest[end] != ']' && rest[end] != '|' && rest[end] != ' ') ++end;
  return rest.substr(0, end);
}

// One NeMo progress segment holding "train_step_timing in s=3.58" (Lightning's bar) or
// "train_step_timing in s: 3.58" (NeMo 2's log lines), or nullopt.
std::optional<Step> ParseNemoSegment(std::string_view t, const std::string& where) {
  auto value = ValueAfter(t, "train_step_timing in s");
  if (!value) return std::nullopt;
  if (value->empty()) throw UserError(where, "truncated progress line (no value after \"train_step_timing in s\")");
  Step s;
  s.seconds = PositiveValue("train_step_timing in s", *value, where);
  if (auto g = ValueAfter(t, "global_step"); g && !g->empty())
    if (auto v = ParseNumber(*g)) s.step = static_cast<int64_t>(std::min(*v, 9e18));
  return s;
}

std::vector<Step> ReadSteps(const std::vector<Line>& lines, const std::string& path) {
  std::vector<Step> megatron, nemo;
  for (const Line& l : lines) {
    std::string where = LineWhere(path, l.number);
    if (auto s = ParseIterationLine(l.text, where)) {
      s->line = l.number;
      megatron.push_back(*s);
    } else if (auto n = ParseNemoSegment(l.text, where)) {
      n->line = l.number;
      // A progress bar redraws the same step several times; keep its first drawing.
      if (!nemo.empty() && n->step && nemo.back().step == n->step) continue;
      nemo.push_back(*n);
    }
  }
  return megatron.empty() ? nemo : megatron;
}

Measured MeasuredFromSteps(const std::vector<Step>& kept, const std::string& path) {
  Measured m;
  std::vector<double> seconds;
  std::map<std::string, std::vector<double>> metrics;
  for (const Step& s : kept) {
    seconds.push_back(s.seconds);
    for (const auto& [name, v] : s.metrics) metrics[name].push_back(v);
  }
  m.values["iteration_time_s"] = Median(seconds);
  for (const auto& [name, v] : metrics) m.values[name] = Median(v);
  m.source = path;
  return m;
}

std::vector<Step> DropWarmup(const std::vector<Step>& steps, const MegatronLogOptions& options,
                             const std::string& path) {
  if (steps.empty())
    throw UserError(path, "no iteration lines (\"iteration N/ M | ... elapsed time per iteration (ms): ...\") "
                          "and no NeMo \"train_step_timing in s=...\" values");
  std::vector<Step> kept;
  int64_t skipped = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (static_cast<int64_t>(i) < options.warmup_lines) continue;
    if (steps[i].skipped > 0) ++skipped;
    else kept.push_back(steps[i]);
  }
  if (kept.empty())
    throw UserError(path, std::to_string(steps.size()) + " timed line(s), none left after dropping " +
                              std::to_string(std::min<int64_t>(options.warmup_lines, steps.size())) +
                              " warm-up line(s) and " + std::to_string(skipped) +
                              " with skipped iterations (lower the warm-up count)");
  return kept;
}

// Context parallelism is not modelled; mixture-of-experts logs are not read for calibration yet.
void RefuseUnmodelled(const MegatronArgReader& a) {
  if (a.PositiveInt("context_parallel_size").value_or(1) > 1)
    a.Fail("context_parallel_size", "context parallelism is not modelled by proteus yet");
  if (auto experts = a.Str("num_experts"); experts && *experts != "0" && *experts != "1")
    a.Fail("num_experts", "mixture-of-experts runs are not calibrated from logs yet (simulate one with "
                          "simulate --from-megatron-args)");
}

// A log's dump prints every argument, so the batch and the GPU count are required.
StrategyFlags LogFlags(const MegatronArgReader& a) {
  if (!a.PositiveInt("data_parallel_size")) a.RequiredInt("world_size", " (or data_parallel_size)");
  a.RequiredInt("micro_batch_size");
  a.RequiredInt("global_batch_size");
  return MegatronStrategyFlags(a);
}

Args CollectArgs(const std::vector<Line>& lines, const std::string& path, const MegatronLogOptions& options) {
  Args args;
  ReadArgumentDumps(lines, path, args);
  ReadPaddedVocab(lines, path, args);
  TranslateNemo(ReadYaml(lines, path), args);
  for (const auto& [name, value] : options.fallback_args)
    if (!args.count(name)) args[name] = {value, options.fallback_origin + "." + name};
  return args;
}

}  // namespace

MeasuredRun ReadMegatronLog(const std::string& path, const MegatronLogOptions& options) {
  if (options.warmup_lines < 0) throw UserError(path, "the warm-up line count must not be negative");
  std::string text = ReadInputFile(path, InputKind::kMeasurement);
  std::vector<Line> lines = SplitLines(text);
  std::vector<Step> kept = DropWarmup(ReadSteps(lines, path), options, path);
  Args args = CollectArgs(lines, path, options);
  MegatronArgReader a(args, path,
                      " (not in the log's argument dump or config; give it in a proteus.run/1 file as \"log_args\": "
                      "{\"{}\": ...})",
                      /*flag_names=*/false);
  if (!options.strategy_given) RefuseUnmodelled(a);
  MeasuredRun run;
  run.name = std::filesystem::path(path).stem().string();
  run.origin = path;
  run.spec.name = run.name;
  run.spec.cluster = options.cluster;
  if (!options.model_given) {
    run.spec.model_doc = MegatronModelDocument(a, run.name);
    run.spec.model_origin = path;
    run.spec.model = run.name;
  }
  if (!options.strategy_given) run.spec.flags = LogFlags(a);
  else if (auto fp8 = a.Str("fp8"))
    LogWarn(path + ": the run used fp8 (" + *fp8 + "); the given strategy's precision.fp8 decides what is simulated");
  run.spec.dtype = MegatronDtype(a);
  run.measured = MeasuredFromSteps(kept, path);
  for (const Step& s : kept) run.iteration_samples_s.push_back(s.seconds);
  return run;
}

bool LooksLikeTrainingLog(std::string_view text) {
  return Contains(text, "elapsed time per iteration (ms)") || Contains(text, "end of arguments") ||
         Contains(text, "train_step_timing");
}

}  // namespace proteus
