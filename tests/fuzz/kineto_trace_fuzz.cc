// libFuzzer target: the PyTorch-profiler (Kineto) trace reader, from JSON text to measured cost
// entries (ParseJson, then ReadKinetoTraceJson: events, kernels, input shapes, steps). Seeds:
// tests/fuzz/corpus/kineto_trace.
#include "common/json_file.h"
#include "simulator/calibrate/kineto_trace.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace proteus;
  fuzz_target::ExpectReturnOrUserError([&] {
    Json doc = ParseJson(fuzz_target::Text(data, size), "fuzz.json");
    (void)ReadKinetoTraceJson(doc, "fuzz.json", KinetoOptions{});
  });
  return 0;
}
