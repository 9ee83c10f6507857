#include "simulator/cli/megatron_flags.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <type_traits>

#include "common/error.h"
#include "common/log.h"
#include "simulator/pipeline/megatron_launch.h"
#include "simulator/pipeline/simulation.h"

namespace proteus {
namespace {

constexpr const char* kGroup = "Megatron-LM spellings (the same settings as the short flags)";

template <class T>
std::string Show(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "on" : "off";
  else if constexpr (std::is_arithmetic_v<T>) return std::to_string(v);
  else return v.empty() ? "(default)" : v;
}

// One setting of a run that Megatron arguments decide: its proteus flag, the arguments, and how
// to show and copy its value between specs.
struct Setting {
  const char* flag;
  std::vector<std::string> dests;
  std::function<std::string(const RunSpec&)> show;
  std::function<void(RunSpec&, const RunSpec&)> copy;
};

template <auto Member>
Setting FlagSetting(const char* flag, std::vector<std::string> dests) {
  return {flag, std::move(dests), [](const RunSpec& s) { return Show(s.flags.*Member); },
          [](RunSpec& to, const RunSpec& from) { to.flags.*Member = from.flags.*Member; }};
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      FlagSetting<&StrategyFlags::tp>("--tp", {"tensor_model_parallel_size"}),
      FlagSetting<&StrategyFlags::pp>("--pp", {"pipeline_model_parallel_size"}),
      FlagSetting<&StrategyFlags::cp>("--cp", {"context_parallel_size"}),
      FlagSetting<&StrategyFlags::ep>("--ep", {"expert_model_parallel_size"}),
      FlagSetting<&StrategyFlags::dp>("--dp", {"world_size"}),
      FlagSetting<&StrategyFlags::mbs>("--mbs", {"micro_batch_size"}),
      FlagSetting<&StrategyFlags::gbs>("--gbs", {"global_batch_size"}),
      FlagSetting<&StrategyFlags::schedule>(
          "--schedule", {"virtual_pipeline_model_parallel_size", "num_layers_per_virtual_pipeline_stage"}),
      FlagSetting<&StrategyFlags::zero>("--zero", {"use_distributed_optimizer"}),
      FlagSetting<&StrategyFlags::recompute>("--recompute",
                                             {"recompute_granularity", "recompute_activations", "checkpoint_activations"}),
      FlagSetting<&StrategyFlags::sp>("--sp", {"sequence_parallel"}),
      FlagSetting<&StrategyFlags::fp8>("--fp8", {"fp8"}),
      FlagSetting<&StrategyFlags::fp8_scaling>("--fp8-scaling", {"fp8_recipe"}),
      FlagSetting<&StrategyFlags::overlap_grad_reduce>("--overlap-grad-reduce", {"overlap_grad_reduce"}),
      FlagSetting<&StrategyFlags::overlap_param_gather>("--overlap-param-gather", {"overlap_param_gather"}),
      FlagSetting<&StrategyFlags::tp_comm_overlap>("--tp-comm-overlap", {"tp_comm_overlap"}),
      FlagSetting<&StrategyFlags::main_grads>("--main-grads", {"grad_reduce_in_bf16", "accumulate_allreduce_grads_in_fp32"}),
      FlagSetting<&StrategyFlags::offload_activations>("--offload-activations",
                                                       {"cpu_offloading", "cpu_offloading_num_layers"}),
      {"--dtype", {"bf16", "fp16"}, [](const RunSpec& s) { return Show(s.dtype); },
       [](RunSpec& to, const RunSpec& from) { to.dtype = from.dtype; }},
      {"--seq-len", {"seq_length"}, [](const RunSpec& s) { return Show(s.seq_len); },
       [](RunSpec& to, const RunSpec& from) { to.seq_len = from.seq_len; }},
  };
  return kSettings;
}

void AddValued(CLI::App* cmd, MegatronFlags& m, const std::string& dest, const std::string& help, bool positive) {
  std::string flag = MegatronFlagName(dest);
  auto* o = cmd->add_option_function<std::string>(
      flag, [&m, dest, flag](const std::string& v) { m.args[dest] = {v, flag}; }, help);
  o->group(kGroup);
  if (positive) o->check(CLI::PositiveNumber)->type_name("INT");
}

void AddSwitch(CLI::App* cmd, MegatronFlags& m, const std::string& dest, const std::string& help) {
  std::string flag = MegatronFlagName(dest);
  cmd->add_flag_callback(flag, [&m, dest, flag] { m.args[dest] = {"True", flag}; }, help)->group(kGroup);
}

// The launch's run under the flags typed beside it: each typed flag wins, with a warning where it
// changes the launch's value.
RunSpec MergeLaunch(const MegatronLaunch& launch, const CLI::App& cmd, const RunSpec& typed, const std::string& origin) {
  RunSpec run = typed;
  run.model = launch.spec.model;
  run.model_doc = launch.spec.model_doc;
  run.model_origin = launch.spec.model_origin;
  for (const Setting& s : Settings()) {
    if (std::string(s.flag) == "--seq-len") continue;  // the launch's length is in its model document
    if (cmd.count(s.flag) == 0) s.copy(run, launch.spec);
    else if (s.show(typed) != s.show(launch.spec))
      LogWarn(std::string(s.flag) + " " + s.show(typed) + " replaces " + s.show(launch.spec) + " of " + origin);
  }
  if (cmd.count("--seq-len") && launch.args.count("seq_length") &&
      launch.args.at("seq_length").value != std::to_string(typed.seq_len))
    LogWarn("--seq-len " + std::to_string(typed.seq_len) + " replaces --seq-length " +
            launch.args.at("seq_length").value + " of " + origin);
  return run;
}

void WarnIgnored(const MegatronLaunch& launch, const std::string& origin) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!launch.not_modelled.empty())
    LogWarn(origin + ": ignored, not modelled by proteus: " + join(launch.not_modelled));
  if (!launch.no_effect.empty())
    LogWarn(origin + ": ignored, no effect on one iteration's time or memory: " + join(launch.no_effect));
}

// The run the Megatron spellings typed on the command line describe, over `current` (whose pp and
// fp8 they refine when not given themselves).
RunSpec AliasRun(MegatronArgs args, const RunSpec& current) {
  if (!args.count("pipeline_model_parallel_size"))
    args["pipeline_model_parallel_size"] = {std::to_string(current.flags.pp), "--pp"};
  if (!args.count("fp8") && !current.flags.fp8.empty() && current.flags.fp8 != "none")
    args["fp8"] = {current.flags.fp8, "--fp8"};
  if (args.count("bf16") && args.count("fp16")) throw UserError("--bf16", "given with --fp16; give one");
  MegatronArgReader a(args, "command line", "", /*flag_names=*/true);
  std::optional<int64_t> layers;
  if (args.count("num_layers_per_virtual_pipeline_stage")) layers = LoadModelFor(current).num_layers;
  RunSpec run;
  run.flags = MegatronStrategyFlags(a, layers);
  run.dtype = MegatronDtype(a);
  if (auto seq = a.PositiveInt("seq_length")) run.seq_len = *seq;
  return run;
}

// The Megatron spellings typed: each must agree with its short flag when both are typed.
void ApplyAliases(const MegatronFlags& m, const CLI::App& cmd, bool launched, RunSpec& run) {
  RunSpec alias = AliasRun(m.args, run);
  for (const Setting& s : Settings()) {
    const MegatronArg* given = nullptr;
    for (const auto& d : s.dests)
      if (auto it = m.args.find(d); it != m.args.end()) given = &it->second;
    if (!given) continue;
    std::string typed = given->where + (given->value == "True" ? "" : " " + given->value);
    if (cmd.count(s.flag) && s.show(run) != s.show(alias))
      throw UserError(s.flag, std::string(s.flag) + " " + s.show(run) + " and " + typed + " disagree (" + typed +
                                  " means " + s.flag + " " + s.show(alias) + "); give one of them");
    if (launched && s.show(run) != s.show(alias)) {
      // The launch's sequence length is in its model document, not in run.seq_len.
      bool seq = std::string(s.flag) == "--seq-len";
      LogWarn(typed + " replaces " + (seq ? std::string("the sequence length") : s.flag + (" " + s.show(run))) +
              " of --from-megatron-args");
    }
    s.copy(run, alias);
  }
}

}  // namespace

void AddMegatronFlags(CLI::App* cmd, MegatronFlags& m) {
  cmd->add_option("--from-megatron-args", m.launch,
                  "The arguments of a Megatron-LM pretrain_gpt.py launch (a file, or the text; torchrun's "
                  "--nproc_per_node x --nnodes before the script give the GPU count): model, parallel sizes, "
                  "batch, recompute, distributed optimizer, overlaps, fp8, MoE; replaces --model; flags typed "
                  "beside it override its values (with a warning); every argument ignored is named")
      ->type_name("FILE|TEXT")
      ->group(kGroup);
  for (const auto& [dest, help] : std::vector<std::pair<std::string, std::string>>{
           {"tensor_model_parallel_size", "= --tp"},
           {"pipeline_model_parallel_size", "= --pp"},
           {"context_parallel_size", "= --cp"},
           {"expert_model_parallel_size", "= --ep"},
           {"micro_batch_size", "= --mbs"},
           {"global_batch_size", "= --gbs"},
           {"seq_length", "= --seq-len"},
           {"virtual_pipeline_model_parallel_size", "V > 1: = --schedule interleaved:V"},
           {"num_layers_per_virtual_pipeline_stage", "L: = --schedule interleaved:(layers / pp / L)"}})
    AddValued(cmd, m, dest, help, /*positive=*/true);
  AddValued(cmd, m, "recompute_granularity", "full | selective: = --recompute", false);
  AddValued(cmd, m, "fp8", "e4m3 | hybrid: = --fp8", false);
  AddValued(cmd, m, "fp8_recipe", "delayed | tensorwise: = --fp8-scaling delayed | current", false);
  AddSwitch(cmd, m, "sequence_parallel", "= --sp");
  AddSwitch(cmd, m, "use_distributed_optimizer", "= --zero 1");
  AddSwitch(cmd, m, "recompute_activations", "= --recompute selective");
  AddSwitch(cmd, m, "bf16", "= --dtype bf16");
  AddSwitch(cmd, m, "fp16", "= --dtype fp16");
}

std::vector<std::string> JoinMegatronArgsText(std::vector<std::string> args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "--from-megatron-args" || args[i + 1].compare(0, 2, "--") != 0) continue;
    args[i] += "=" + args[i + 1];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  }
  return args;
}

void ApplyMegatronFlags(const MegatronFlags& m, const CLI::App& cmd, RunSpec& spec) {
  bool launched = !m.launch.empty();
  if (launched) {
    if (cmd.count("--model"))
      throw UserError("--model", "given with --from-megatron-args, whose arguments describe the model; give one");
    if (cmd.count("--strategy"))
      throw UserError("--strategy", "given with --from-megatron-args, whose arguments are the strategy; give one");
    MegatronLaunch launch = ReadMegatronLaunch(m.launch, "--from-megatron-args");
    std::string origin = "--from-megatron-args " + launch.spec.model_origin;
    if (launch.spec.model_origin == "--from-megatron-args") origin = "--from-megatron-args";
    WarnIgnored(launch, origin);
    spec = MergeLaunch(launch, cmd, spec, origin);
  } else if (spec.model.empty()) {
    throw UserError("--model", "required: a zoo name (gpt3-175b, ...), a proteus.model/1 file or an HF config.json; "
                               "or --from-megatron-args");
  }
  if (!m.args.empty()) ApplyAliases(m, cmd, launched, spec);
}

}  // namespace proteus
