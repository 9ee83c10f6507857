// libFuzzer target: every proteus JSON document reader. The input is parsed as JSON with the
// readers' own parser (nesting limit, errors naming the file), then given to the reader its
// "format" names (proteus.costdb, .strategy, .model, .cluster, .gpu, .cpu, .run, .suite), or to
// every reader when it names none they know, so mutations of one format's seeds also reach the
// others' checks. Seeds: tests/fuzz/corpus/json_documents.
#include <string>

#include "common/costdb.h"
#include "common/json_file.h"
#include "simulator/calibrate/run_file.h"
#include "simulator/cost/cpu_spec.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/model/model_file.h"
#include "simulator/strategy/strategy.h"
#include "tests/fuzz/fuzz_target.h"
#include "topo/cluster.h"

namespace proteus {
namespace {

const std::string kOrigin = "fuzz.json";

void ReadAs(const std::string& format, const Json& doc, std::string_view text) {
  using fuzz_target::ExpectReturnOrUserError;
  auto all = format.empty();
  if (all || format == "proteus.costdb") ExpectReturnOrUserError([&] { (void)CostDb::FromJson(doc, kOrigin); });
  if (all || format == "proteus.strategy") ExpectReturnOrUserError([&] { (void)ParseStrategy(doc, kOrigin); });
  if (all || format == "proteus.model") ExpectReturnOrUserError([&] { (void)ModelFromDocument(doc, kOrigin); });
  if (all || format == "proteus.gpu") ExpectReturnOrUserError([&] { (void)GpuSpecFromJson(doc, kOrigin); });
  if (all || format == "proteus.cpu") ExpectReturnOrUserError([&] { (void)CpuSpecFromJson(doc, kOrigin); });
  if (all || format == "proteus.run" || format == "proteus.suite")
    ExpectReturnOrUserError([&] { (void)RunSetFromJson(doc, kOrigin); });
  if (all || format == "proteus.cluster")  // read from a path: a cluster file names its topology files
    ExpectReturnOrUserError([&] { (void)LoadCluster(fuzz_target::ScratchFile(text, "cluster.json")); });
}

}  // namespace
}  // namespace proteus

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace proteus;
  std::string_view text = fuzz_target::Text(data, size);
  Json doc;
  try {
    doc = ParseJson(text, kOrigin);
  } catch (const UserError&) {
    return 0;  // not JSON, or nested too deep: refused with the file and line
  }
  std::string format;
  if (doc.is_object() && doc.contains("format") && doc["format"].is_string()) {
    format = doc["format"].get<std::string>();
    format = format.substr(0, format.find('/'));
    static const char* known[] = {"proteus.costdb", "proteus.strategy", "proteus.model", "proteus.gpu",
                                  "proteus.cpu",    "proteus.run",      "proteus.suite", "proteus.cluster"};
    bool is_known = false;
    for (const char* k : known) is_known |= format == k;
    if (!is_known) format.clear();
  }
  ReadAs(format, doc, text);
  return 0;
}
