// Host CPUs (proteus.cpu/1, data/cpus/<name>.json) and the time of DeepSpeed's CPU Adam on them,
// for optimizer offload (strategy `offload_optimizer`, docs/strategies.md).
//
// Model. CPU Adam (DeepSpeed's DeepSpeedCPUAdam, AVX-vectorised over every core) is bound by DRAM
// bandwidth: per parameter it reads the fp32 master weight, gradient, m and v (16 bytes) and writes
// the weight, m and v (12 bytes), then the updated weight is cast to the 16-bit copy sent back to
// the GPU (read 4, write 2): kCpuAdamBytesPerParam = 34 bytes. The GPUs whose local CPU is one socket
// step at the same time, so they share its bandwidth:
//   time = params x 34 / (socket bandwidth x adam_efficiency / GPUs sharing the socket)
// Worked example: GPT-3 2.7B on one DGX A100 (EPYC 7742, 204.8 GB/s per socket, efficiency 0.5,
// four GPUs per socket), dp 8: each GPU steps 2.65e9 / 8 = 3.3e8 parameters:
//   3.3e8 x 34 / (204.8e9 x 0.5 / 4) = 0.44 s.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/json_file.h"

namespace proteus {

inline constexpr int64_t kCpuAdamBytesPerParam = 16 + 12 + 4 + 2;

struct CpuSpec {
  std::string name;               // "AMD-EPYC-7742"
  std::string vendor;             // "AuthenticAMD", "GenuineIntel", ... (informational)
  int sockets = 1;                // per node
  int cores_per_socket = 1;       // informational: the price is memory-bound
  double mem_bw = 0;              // bytes/s per socket, peak DRAM
  double adam_efficiency = 0.5;   // fraction of mem_bw CPU Adam reaches
  std::map<std::string, std::string> sources;  // field -> where the number comes from
};

/// Parses a proteus.cpu/1 document; UserError naming `origin` and the field on any problem
/// (unknown keys included).
CpuSpec CpuSpecFromJson(const Json& doc, const std::string& origin);

/// Loads data/cpus/<name>.json (or a path); unknown names list the shipped ones.
CpuSpec LoadCpuSpec(const std::string& name_or_path);

/// The host CPU of the nodes a GPU type is sold in (DGX A100: AMD-EPYC-7742; DGX/HGX H100 and
/// H200: Intel-Xeon-8480C; DGX-1 V100: Intel-Xeon-E5-2698v4); UserError naming the GPU type when
/// there is none.
std::string DefaultCpuForGpu(const std::string& gpu_type);

/// Seconds CPU Adam takes for `params` parameters of one GPU when `sharing` GPUs use the socket.
double CpuAdamSeconds(const CpuSpec& cpu, int64_t params, int sharing);

}  // namespace proteus
