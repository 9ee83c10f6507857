// libFuzzer target: the Megatron-LM / NeMo training-log reader (ReadMegatronLog: argument dump,
// iteration lines, NeMo config and progress lines). It reads a path, so each input is written to
// one scratch file first. Seeds: tests/fuzz/corpus/training_log.
#include "simulator/calibrate/megatron_log.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace proteus;
  std::string path = fuzz_target::ScratchFile(fuzz_target::Text(data, size), "train.log");
  fuzz_target::ExpectReturnOrUserError([&] {
    MegatronLogOptions options;
    options.cluster = "dgx-a100-1";
    (void)ReadMegatronLog(path, options);
  });
  return 0;
}
