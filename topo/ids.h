// Dense integer ids of graph elements. They index vectors; pointers never cross folders.
#pragma once

#include <cstdint>

namespace proteus {

using GpuId = int32_t;   // global GPU index in a cluster: node * gpus_per_node + local index
using NodeId = int32_t;  // vertex of a link graph (GPU, NVSwitch, PCIe switch, CPU, NIC, fabric switch)
using LinkId = int32_t;  // directed edge of a link graph

}  // namespace proteus
