#include "simulator/calibrate/read_runs.h"

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_file.h"
#include "simulator/calibrate/megatron_log.h"
#include "simulator/calibrate/run_file.h"

namespace proteus {
namespace {

constexpr const char* kRecognized =
    "proteus.run/1 or proteus.suite/1 JSON (with \"format\"), or a Megatron-LM / NeMo training log (an "
    "argument dump, \"iteration N/ M | ... elapsed time per iteration (ms): ...\" lines or "
    "\"train_step_timing in s=...\")";

bool LooksLikeJson(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && text[i] == '{';
}

RunSet ReadOne(const std::string& path, const ReadRunsOptions& options) {
  std::string text = ReadInputFile(path, InputKind::kMeasurement);
  if (LooksLikeJson(text)) {
    Json doc = ParseJson(text, path);
    if (!doc.is_object() || !doc.contains("format"))
      throw UserError(path, "a JSON file without \"format\"; expected " + std::string(kRecognized));
    return RunSetFromJson(doc, path);
  }
  if (!LooksLikeTrainingLog(text)) throw UserError(path, std::string("unrecognized file; expected ") + kRecognized);
  if (options.cluster.empty())
    throw UserError(path, "a training log names no cluster: give one (--cluster), or a proteus.run/1 file with "
                          "\"log\" and \"cluster\"");
  MegatronLogOptions log_options;
  log_options.cluster = options.cluster;
  log_options.warmup_lines = options.warmup_lines;
  RunSet set;
  set.runs.push_back(ReadMegatronLog(path, log_options));
  return set;
}

}  // namespace

RunSet ReadRuns(const std::vector<std::string>& paths, const ReadRunsOptions& options) {
  RunSet all;
  for (const auto& path : paths) all.Append(ReadOne(path, options));
  return all;
}

}  // namespace proteus
