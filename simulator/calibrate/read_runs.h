// Measured runs from any mix of files, told apart by their content:
//   JSON with "format": "proteus.run/1" or "proteus.suite/1"   -> ReadRunFile (run_file.h)
//   text with Megatron-LM / NeMo markers (an argument dump,      -> ReadMegatronLog (megatron_log.h),
//   "elapsed time per iteration (ms)", "train_step_timing")         on options.cluster
// all appended into one RunSet whose run and kernel names are unique.
//
//   ReadRuns({"data/measurements/a100.json", "logs/gpt-1.3b.log"}, {.cluster = "dgx-a100-2"})
//     -> the runs and kernels of a100.json, then a run named "gpt-1.3b" read from the log
#pragma once

#include <string>
#include <vector>

#include "simulator/calibrate/measured_run.h"

namespace proteus {

struct ReadRunsOptions {
  /// The cluster of bare training logs (they name none); required when a log is given directly.
  std::string cluster;
  /// Timed lines dropped at the start of each bare log (MegatronLogOptions::warmup_lines).
  int warmup_lines = 1;
};

/// Reads every file in `paths`, in order, into one RunSet. UserError naming the file for an
/// unreadable file, an unrecognized format (the message lists the recognized ones), a bare log
/// without options.cluster, a repeated name (naming both origins), or any reader's error.
RunSet ReadRuns(const std::vector<std::string>& paths, const ReadRunsOptions& options = {});

}  // namespace proteus
