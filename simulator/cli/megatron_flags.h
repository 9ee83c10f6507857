// Megatron-LM's spellings on `proteus-sim simulate`: the long argument names as aliases of the
// shorthand flags (--tensor-model-parallel-size 8 = --tp 8), and --from-megatron-args FILE|TEXT,
// the arguments of a pretrain_gpt.py launch (pipeline/megatron_launch.h) as the whole run.
//
// Precedence: the launch arguments, then the flags typed on the command line. A flag (either
// spelling) that changes a launch argument's value is applied with a warning naming both; a
// Megatron spelling and its short flag given with different values are refused (exit 2) naming
// both. Every launch argument that decides nothing is named in a warning.
#pragma once

#include <string>
#include <vector>

#include "simulator/pipeline/megatron_args.h"
#include "simulator/pipeline/run_spec.h"

namespace CLI { class App; }

namespace proteus {

struct MegatronFlags {
  MegatronArgs args;          // Megatron spellings typed on the command line, by destination
  std::string launch;         // --from-megatron-args: a file or the argument text
};

/// Adds the Megatron spellings and --from-megatron-args to `cmd` (help group "Megatron-LM").
void AddMegatronFlags(CLI::App* cmd, MegatronFlags& m);

/// `args` with a "--from-megatron-args" followed by text starting with "--" joined into
/// "--from-megatron-args=TEXT": the parser would read that text as an unknown option.
std::vector<std::string> JoinMegatronArgsText(std::vector<std::string> args);

/// After parsing: applies --from-megatron-args and the Megatron spellings to `spec`, checking them
/// against the flags `cmd` was given. UserError on a conflict, on --model beside
/// --from-megatron-args, or on neither.
void ApplyMegatronFlags(const MegatronFlags& m, const CLI::App& cmd, RunSpec& spec);

}  // namespace proteus
