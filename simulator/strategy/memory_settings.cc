#include "simulator/strategy/memory_settings.h"

#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace proteus {
namespace {

constexpr double kGibBytes = 1024.0 * 1024.0 * 1024.0;
constexpr double kMibBytes = 1024.0 * 1024.0;
// A reserve above this is certainly a unit mistake (the largest GPUs hold ~200 GiB).
constexpr double kMaxReserveGib = 1024;
constexpr double kMaxNcclBuffsizeMib = 1024;

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

}  // namespace

std::string_view ParamStorageName(ParamStorage p) { return p == ParamStorage::kFp32 ? "fp32" : "compute"; }

DType ParseMainGrads(const std::string& text, const std::string& flag) {
  if (text == "fp32") return DType::kFp32;
  if (text == "bf16") return DType::kBf16;
  if (text == "fp16") return DType::kFp16;
  throw UserError(flag, "expected fp32, bf16 or fp16 (the dtype gradients are accumulated and reduced in), got \"" +
                            text + "\"");
}

ParamStorage ParseParamStorage(const std::string& text, const std::string& flag) {
  if (text == "compute") return ParamStorage::kCompute;
  if (text == "fp32") return ParamStorage::kFp32;
  throw UserError(flag, "expected compute (parameters kept in the compute dtype, fp32 master copies in the "
                        "optimizer) or fp32 (fp32 parameters cast when used, as FSDP2), got \"" + text + "\"");
}

int64_t CheckedReserveBytes(double gib, const std::string& where) {
  if (!std::isfinite(gib) || gib < 0 || gib > kMaxReserveGib)
    throw UserError(where, "the reserve must be within [0, " + Num(kMaxReserveGib) + "] GiB, got " + Num(gib));
  return static_cast<int64_t>(std::llround(gib * kGibBytes));
}

double CheckedFragmentation(double factor, const std::string& where) {
  if (!std::isfinite(factor) || factor < 1 || factor > kMaxFragmentation)
    throw UserError(where, "the fragmentation factor must be within [1, " + Num(kMaxFragmentation) +
                               "] (reserved over allocated memory), got " + Num(factor));
  return factor;
}

void ParsePrecisionSettings(const JsonView& v, PrecisionSettings& p) {
  // Unknown keys are refused by the caller: "precision" also holds the fp8 recipe (fp8_recipe.h).
  if (v.Has("main_grads")) p.main_grads = ParseMainGrads(v.Str("main_grads"), v.WhereField("main_grads"));
  if (v.Has("params")) p.params = ParseParamStorage(v.Str("params"), v.WhereField("params"));
}

void ParseMemorySettings(const JsonView& v, MemorySettings& m) {
  v.RejectUnknownKeys({"reserve_gib", "fragmentation", "nccl_buffsize_mib"});
  if (v.Has("reserve_gib")) m.reserve_bytes = CheckedReserveBytes(v.Num("reserve_gib"), v.WhereField("reserve_gib"));
  if (v.Has("fragmentation"))
    m.fragmentation = CheckedFragmentation(v.Num("fragmentation"), v.WhereField("fragmentation"));
  if (v.Has("nccl_buffsize_mib")) {
    double mib = v.Num("nccl_buffsize_mib");
    if (!std::isfinite(mib) || mib <= 0 || mib > kMaxNcclBuffsizeMib)
      v.FailField("nccl_buffsize_mib", "must be within (0, " + Num(kMaxNcclBuffsizeMib) + "] MiB, got " + Num(mib));
    m.nccl_buffsize = static_cast<int64_t>(std::llround(mib * kMibBytes));
  }
}

Json PrecisionSettingsToJson(const PrecisionSettings& p) {
  return {{"main_grads", std::string(DTypeName(p.main_grads))}, {"params", std::string(ParamStorageName(p.params))}};
}

Json MemorySettingsToJson(const MemorySettings& m) {
  return {{"reserve_gib", static_cast<double>(m.reserve_bytes) / kGibBytes},
          {"fragmentation", m.fragmentation},
          {"nccl_buffsize_mib", static_cast<double>(m.nccl_buffsize) / kMibBytes}};
}

}  // namespace proteus
