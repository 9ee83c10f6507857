// Measured-run files: proteus.run/1 (runs and kernel measurements) and proteus.suite/1 (validation
// suites, whose cases are runs too) -> a RunSet. docs/formats.md, "Measured run: proteus.run/1".
//
//   {"format": "proteus.run/1",
//    "runs": [
//      {"name": "llama-70b a", "model": "llama3-70b", "cluster": "dgx-h100-64",
//       "strategy": {"tp": 8, "pp": 4, "dp": 16, "mbs": 1, "gbs": 1024, "zero": 1},
//       "dtype": "bf16", "iteration_samples_s": [9.8, 6.1, 6.0, 6.2], "warmup": 1,
//       "source": "our cluster, 2024-05-01"},                    -> iteration_time_s = 6.1 (median)
//      {"log": "train.log", "cluster": "dgx-h100-16"}],          -> model, strategy, times from the log
//    "kernels": [
//      {"name": "gemm 8k", "gpu": "H100-SXM5-80GB", "keys": ["gemm|bf16|fwd|k=8192,m=8192,n=8192|"],
//       "measured": {"tflops": 750, "flops": 1.099511627776e12}}]}  -> measured_s = 1.466e-3
//
// A file may instead hold one run's fields at the top level. Every error names the file and the
// JSON path ("runs.json: runs[2].strategy.tp: ...") and is a UserError (exit 2).
#pragma once

#include <string>

#include "common/json_file.h"
#include "simulator/calibrate/measured_run.h"

namespace proteus {

/// Reads the proteus.run/1 or proteus.suite/1 file at `path`. Run names default to
/// "<file stem>[i]" for runs[i] and cases[i], "<file stem>" for a top-level run; kernel names to
/// "<file stem>.kernels[i]"; a name used twice is an error. A run's "log" is read relative to the
/// file's folder (ReadMegatronLog). UserError naming the file and field on any bad input.
RunSet ReadRunFile(const std::string& path);

/// The same from a parsed document; `path` names it in errors, gives default names and is the
/// folder logs are found in.
RunSet RunSetFromJson(const Json& doc, const std::string& path);

}  // namespace proteus
