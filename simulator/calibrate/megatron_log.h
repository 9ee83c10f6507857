// Training logs of Megatron-LM (and its forks) and NeMo -> one MeasuredRun.
//
// What is read (docs/formats.md, "Megatron-LM / NeMo training log"):
//   - Megatron's argument dump, between "---- arguments ----" and "---- end of arguments ----":
//       "  tensor_model_parallel_size ...................... 8"
//     and the tokenizer's "> padded vocab (size: 50257) with 175 dummy tokens (new size: 50432)";
//   - NeMo's YAML config dump (trainer: devices, num_nodes, precision; model: tensor_model_parallel_size,
//     micro_batch_size, encoder_seq_length, num_layers, hidden_size, ...), translated to the Megatron
//     argument names, and its "Padded vocab_size: 50304, original vocab_size: 50257" line;
//   - the timed steps: Megatron iteration lines
//       " [2024-05-01 10:00:00] iteration  100/ 500000 | ... | elapsed time per iteration (ms): 3580.2 |
//         throughput per GPU (TFLOP/s/GPU): 137.4 | ... | number of skipped iterations:   0 | ... |"
//     one sample per line (Megatron averages over --log-interval iterations), or NeMo progress
//     segments "train_step_timing in s=3.58", one sample per step.
// The arguments become an inline proteus.model/1 document (an hf_config, GPT- or Llama-style),
// shorthand strategy flags and a dtype; the samples, after dropping the first `warmup_lines` and
// every line with skipped iterations (loss-scale skips do no optimizer step), give
//   iteration_time_s = median(samples), tflops_per_gpu = median(throughput field), when present.
//
// Example: a log of GPT-3 1.3B on 16 GPUs (tp 2, dp 8), 10 iteration lines of 3580 ms each,
// warmup_lines 1 -> 9 samples of 3.58 s, iteration_time_s 3.58, flags {tp 2, pp 1, dp 8, mbs, gbs}.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "simulator/calibrate/measured_run.h"

namespace proteus {

struct MegatronLogOptions {
  /// Timed lines dropped at the start: the first steps include allocator growth, NCCL communicator
  /// setup and autotuning, so they are slower than the steady state.
  int warmup_lines = 1;
  /// The run's cluster (data/clusters name or file); logs do not name one. May be empty when the
  /// caller sets it afterwards.
  std::string cluster;
  /// Argument values (Megatron names, as printed: "8", "True", "RMSNorm") used where the log has
  /// none, e.g. {"padded_vocab_size": "50304"} for a log without an argument dump.
  std::map<std::string, std::string> fallback_args;
  /// Names the fallback in errors ("runs.json: runs[0].log_args").
  std::string fallback_origin = "fallback arguments";
  /// The caller supplies the model / the strategy itself (a run file's "model" / "strategy"): their
  /// arguments are then not required, and the result's model / flags are left at their defaults.
  bool model_given = false;
  bool strategy_given = false;
};

/// Reads the training log at `path`. The result: name = the file stem, origin = `path`,
/// spec.model_doc (an inline proteus.model/1, model_origin = `path`) unless options.model_given,
/// spec.flags unless options.strategy_given, spec.dtype, spec.cluster = options.cluster, measured
/// {iteration_time_s, tflops_per_gpu?, hw_tflops_per_gpu?, samples_per_s?, tokens_per_s?} with
/// source = `path`, iteration_samples_s = the kept samples in seconds, in log order.
/// UserError (exit 2) naming the file and the line or argument: unreadable file, no timed lines, a
/// truncated or non-numeric iteration line, a missing or malformed required argument, nothing left
/// after warm-up, or a feature not read from logs (context parallelism, mixture of experts).
MeasuredRun ReadMegatronLog(const std::string& path, const MegatronLogOptions& options = {});

/// True if `text` looks like a Megatron-LM or NeMo training log (an argument dump, an iteration
/// line, or a train_step_timing value), for dispatch by content.
bool LooksLikeTrainingLog(std::string_view text);

}  // namespace proteus
