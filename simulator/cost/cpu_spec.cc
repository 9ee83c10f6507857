#include "simulator/cost/cpu_spec.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/units.h"

namespace proteus {
namespace {

constexpr int kCpuSpecMajor = 1;

// The CPUs of the systems each shipped GPU spec comes in (vendors' system guides, see the
// sources of each data/cpus file).
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kDefaultCpu = {{
    {"A100-SXM4-80GB", "AMD-EPYC-7742"},           // DGX A100
    {"H100-SXM5-80GB", "Intel-Xeon-8480C"},        // DGX H100
    {"H200-SXM-141GB", "Intel-Xeon-8480C"},        // HGX H200 (DGX H200 ships the same CPUs)
    {"V100-SXM2-32GB", "Intel-Xeon-E5-2698v4"}}};  // DGX-1 V100

int BoundedInt(const JsonView& v, std::string_view key, int64_t max) {
  int64_t x = v.PositiveInt(key);
  if (x > max) v.FailField(key, "must be at most " + std::to_string(max) + ", got " + std::to_string(x));
  return static_cast<int>(x);
}

}  // namespace

CpuSpec CpuSpecFromJson(const Json& doc, const std::string& origin) {
  JsonView root(doc, origin);
  root.RequireFormat("proteus.cpu", kCpuSpecMajor);
  root.RejectUnknownKeys({"format", "name", "vendor", "sockets", "cores_per_socket", "memory_bandwidth_gbps",
                          "adam_efficiency", "sources"});
  CpuSpec spec;
  spec.name = root.Str("name");
  if (spec.name.empty()) root.FailField("name", "must not be empty");
  spec.vendor = root.StrOr("vendor", "");
  spec.sockets = BoundedInt(root, "sockets", 64);
  spec.cores_per_socket = BoundedInt(root, "cores_per_socket", 4096);
  double gbps = root.Num("memory_bandwidth_gbps");
  if (!(gbps > 0) || gbps > 1e6) root.FailField("memory_bandwidth_gbps", "must be in (0, 1e6] GB/s per socket");
  spec.mem_bw = gbps * kGBps;
  if (root.Has("adam_efficiency")) {
    spec.adam_efficiency = root.Num("adam_efficiency");
    if (!(spec.adam_efficiency > 0) || spec.adam_efficiency > 1)
      root.FailField("adam_efficiency", "must be a fraction in (0, 1]");
  }
  if (auto src = root.Find("sources")) {
    if (!src->IsObject()) src->Fail("expected an object {field: source}");
    for (auto it = src->raw().begin(); it != src->raw().end(); ++it) spec.sources[it.key()] = src->Str(it.key());
  }
  return spec;
}

CpuSpec LoadCpuSpec(const std::string& name_or_path) {
  auto path = ResolveDataFile("cpus", name_or_path, ".json");
  if (!path)
    throw UserError("cpu \"" + name_or_path + "\"", "unknown CPU (shipped: " + ListDataNames("cpus", ".json") +
                                                        "; or give a path to a proteus.cpu/1 file)");
  return CpuSpecFromJson(ReadJsonFile(*path), *path);
}

std::string DefaultCpuForGpu(const std::string& gpu_type) {
  for (const auto& [gpu, cpu] : kDefaultCpu)
    if (gpu == gpu_type) return std::string(cpu);
  throw UserError("gpu \"" + gpu_type + "\"",
                  "optimizer offload needs the node's CPU, and this GPU type has no default one (known: "
                  "A100-SXM4-80GB, H100-SXM5-80GB, H200-SXM-141GB, V100-SXM2-32GB)");
}

double CpuAdamSeconds(const CpuSpec& cpu, int64_t params, int sharing) {
  PROTEUS_CHECK(cpu.mem_bw > 0 && cpu.adam_efficiency > 0, "CPU spec without bandwidth");
  double bw = cpu.mem_bw * cpu.adam_efficiency / std::max(1, sharing);
  return static_cast<double>(params) * static_cast<double>(kCpuAdamBytesPerParam) / bw;
}

}  // namespace proteus
