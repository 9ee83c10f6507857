// A Megatron-LM launch line -> the RunSpec of the run it starts (`simulate --from-megatron-args`).
//
// Input: the arguments a user launches pretrain_gpt.py with, as text or in a file, split into
// words as a shell would (quotes, backslash-newline continuations, # comments). Words up to a
// script ending in .py are the launcher's: torchrun's --nproc_per_node x --nnodes gives the world
// size (dp = world / (tp pp cp)); without them dp fills the cluster. After the script (or from the
// first word when there is none), "--name value..." and "--name=value" set Megatron's argument
// `name` (dashes read as underscores), a bare "--name" sets it True; a repeated argument keeps its
// last value, as argparse does.
//
// Absent arguments take Megatron-LM's defaults where they change the prediction: dropout 0.1,
// Transformer Engine (fused attention), no overlapped gradient reduction, parameter gather or TP
// communication, fp32 unless --bf16/--fp16. The vocabulary is --vocab-size, else GPT-2's 50,257
// tokens for --tokenizer-type GPT2BPETokenizer (or no type beside a --merge-file), padded as
// Megatron pads it; any other tokenizer needs --vocab-size (its files are not read).
// --attention-backend unfused/local means unfused attention, any other backend a fused one.
// Then megatron_args.h builds the model, the flags and the dtype. Every argument that decides
// nothing is returned by name, split into those with no effect on one iteration's time or memory
// (learning rate, data paths, logging) and those proteus does not model.
//
// Example: "torchrun --nproc_per_node 8 --nnodes 16 pretrain_gpt.py --num-layers 96 --hidden-size
// 12288 --num-attention-heads 96 --seq-length 2048 --micro-batch-size 1 --global-batch-size 1536
// --tensor-model-parallel-size 8 --pipeline-model-parallel-size 16 --fp16 --lr 6e-5
// --merge-file m.txt" -> GPT-3 175B (vocabulary 50257 padded to 51200 for tp 8), flags {tp 8,
// pp 16, dp 1, mbs 1, gbs 1536}, dtype fp16; --lr is reported as having no effect.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simulator/pipeline/megatron_args.h"
#include "simulator/pipeline/run_spec.h"

namespace proteus {

struct MegatronLaunch {
  /// model_doc (named after the file stem, or "megatron-args"), model, model_origin, flags and
  /// dtype; the cluster and databases are the caller's.
  RunSpec spec;
  MegatronArgs args;                      // as given, with the defaults filled in
  std::vector<std::string> no_effect;     // ignored: no effect on step time or memory ("--lr")
  std::vector<std::string> not_modelled;  // ignored: proteus does not model them
};

/// Splits `text` into words as a POSIX shell does without expansion: single and double quotes,
/// backslash escapes and continuations, # comments. UserError at `origin` for an unclosed quote.
std::vector<std::string> SplitShellWords(std::string_view text, const std::string& origin);

/// Reads a launch line given as a file path (when the file exists) or as the text itself (when
/// it holds "--"). UserError naming `flag` when it is neither, and naming the argument (as
/// --flag) for a bad or missing value: --num-layers, --hidden-size, --num-attention-heads,
/// --seq-length and --micro-batch-size are required, as by Megatron.
MegatronLaunch ReadMegatronLaunch(const std::string& file_or_text, const std::string& flag);

}  // namespace proteus
