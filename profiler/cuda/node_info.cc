#include "profiler/cuda/node_info.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/json_file.h"
#include "common/log.h"
#include "profiler/cuda/check.h"

namespace proteus::profiler {
namespace {

std::string Version3(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div) + "." +
         std::to_string(v % minor_div);
}

// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  ..." -> "550.54.15".
std::string DriverVersion() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (in && std::getline(in, line)) {
    auto pos = line.find("Kernel Module");
    if (pos != std::string::npos) {
      std::istringstream rest(line.substr(pos + 13));
      std::string v;
      rest >> v;
      if (!v.empty()) return v;
    }
  }
  int d = 0;
  cudaDriverGetVersion(&d);
  return "CUDA driver API " + std::to_string(d / 1000) + "." + std::to_string((d % 1000) / 10);
}

}  // namespace

NodeProbe ProbeNode(const Bootstrap& boot) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess)
    throw DeviceError(std::string("no usable CUDA GPU on this node: cudaGetDeviceCount: ") + cudaGetErrorString(e) +
                      " (is the NVIDIA driver installed and a GPU visible? CUDA_VISIBLE_DEVICES=" +
                      (getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset") + ")");
  if (n == 0) throw DeviceError("no CUDA GPU found on this node (cudaGetDeviceCount returned 0)");
  NodeProbe p;
  p.gpus = n;
  p.nodes = boot.Size();
  p.leader = boot.Rank() == 0;
  cudaDeviceProp prop{};
  PROTEUS_CUDA(cudaGetDeviceProperties(&prop, 0));
  for (int d = 1; d < n; ++d) {
    cudaDeviceProp other{};
    PROTEUS_CUDA(cudaGetDeviceProperties(&other, d));
    if (std::string(other.name) != prop.name)
      LogWarn(std::string("GPU ") + std::to_string(d) + " is a " + other.name + ", GPU 0 a " + prop.name +
              "; ops are measured on GPU 0 only");
  }
  p.device.name = prop.name;
  p.device.sm_count = prop.multiProcessorCount;
  p.device.cc_major = prop.major;
  p.device.cc_minor = prop.minor;
  p.device.memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  p.device.l2_bytes = prop.l2CacheSize;
  int khz = 0;
  PROTEUS_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
  p.device.sm_clock_mhz = khz / 1000.0;
  PROTEUS_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, 0));
  p.device.mem_clock_mhz = khz / 1000.0;
  int rt = 0, nccl = 0;
  PROTEUS_CUDA(cudaRuntimeGetVersion(&rt));
  PROTEUS_NCCL(ncclGetVersion(&nccl));
  p.software.driver = DriverVersion();
  p.software.cuda = std::to_string(rt / 1000) + "." + std::to_string((rt % 1000) / 10);
  p.software.cublas = Version3(static_cast<int>(cublasLtGetVersion()), 10000, 100);
  p.software.cudnn = Version3(static_cast<int>(cudnnGetVersion()), 10000, 100);
  p.software.nccl = Version3(nccl, 10000, 100);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  p.host = host;
  return p;
}

std::string DumpNcclTopology(int gpus) {
  std::string path = std::filesystem::temp_directory_path() / ("proteus_topo_" + std::to_string(getpid()) + ".xml");
  setenv("NCCL_TOPO_DUMP_FILE", path.c_str(), 1);
  std::vector<ncclComm_t> comms(gpus);
  std::vector<int> devs(gpus);
  for (int i = 0; i < gpus; ++i) devs[i] = i;
  try {
    PROTEUS_NCCL(ncclCommInitAll(comms.data(), gpus, devs.data()));
  } catch (...) {
    unsetenv("NCCL_TOPO_DUMP_FILE");
    throw;
  }
  for (auto c : comms) ncclCommDestroy(c);
  unsetenv("NCCL_TOPO_DUMP_FILE");
  if (!std::filesystem::exists(path)) {
    LogWarn("NCCL wrote no topology dump (NCCL_TOPO_DUMP_FILE); the database will have none");
    return "";
  }
  std::string xml = ReadTextFile(path);
  std::filesystem::remove(path);
  return xml;
}

}  // namespace proteus::profiler
