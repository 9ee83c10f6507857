// The node: GPU properties, clocks, driver and library versions, and NCCL's topology dump.
#pragma once

#include <string>

#include "profiler/backend.h"
#include "profiler/cuda/bootstrap.h"

namespace proteus::profiler {

/// Finds the local GPUs; DeviceError("no CUDA GPU ...") when there is none or no working driver.
NodeProbe ProbeNode(const Bootstrap& boot);

/// Creates a communicator over the first `gpus` GPUs with NCCL_TOPO_DUMP_FILE set and returns the
/// XML NCCL wrote (its view of PCIe, NVLink, NVSwitch and NICs).
std::string DumpNcclTopology(int gpus);

}  // namespace proteus::profiler
