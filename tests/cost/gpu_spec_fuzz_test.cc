// Fuzz test of the GPU spec reader: every mutated shipped spec either parses (into a usable spec)
// or throws UserError; never a crash, never another exception type. Deterministic, bounded.
#include <exception>
#include <string>
#include <typeinfo>

#include <gtest/gtest.h>

#include "common/data_dir.h"
#include "common/error.h"
#include "simulator/cost/gpu_spec.h"
#include "simulator/cost/roofline.h"
#include "tests/common/json_mutator.h"

namespace proteus {
namespace {

std::string Escaped(const Json& doc) {
  try {
    GpuSpec s = GpuSpecFromJson(doc, "fuzz.json");
    // A spec that parses must price a kernel without NaN or a crash.
    OpKey k;
    k.kind = "gemm";
    k.shape = {{"m", 1000}, {"n", 1000}, {"k", 1000}};
    double t = Roofline(k, s).seconds;
    if (!(t > 0) || !std::isfinite(t)) return "parsed spec gives time " + std::to_string(t);
  } catch (const UserError&) {
  } catch (const std::exception& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  }
  return "";
}

TEST(GpuSpecFuzz, MutatedSpecsParseOrThrowUserError) {
  for (const char* name : {"H100-SXM5-80GB", "V100-SXM2-32GB"}) {
    Json valid = ReadJsonFile(*ResolveDataFile("gpus", name, ".json"));
    ASSERT_EQ(Escaped(valid), "");
    fuzz::JsonMutator mut(42);
    for (int i = 0, n = fuzz::FuzzIterations(2000); i < n; ++i) {
      Json doc = mut.MutateTree(valid);
      ASSERT_EQ(Escaped(doc), "") << name << " iteration " << i << ": "
                                  << doc.dump(-1, ' ', false, Json::error_handler_t::replace);
      std::string text = mut.MutateText(valid);
      std::string escaped;
      try {
        escaped = Escaped(ParseJson(text, "fuzz.json"));
      } catch (const UserError&) {
      }
      ASSERT_EQ(escaped, "") << name << " iteration " << i << ": " << text;
    }
  }
}

}  // namespace
}  // namespace proteus
