// What `proteus-sim topo CLUSTER` prints: per node group, the node's link graph, the GPU-pair path
// types (as `nvidia-smi topo -m` shows them, in NCCL's names) with bottleneck bandwidths, and the
// GPU -> NIC mapping; then the fabric. Example matrix row of a DGX-1: "GPU0  X NVL NVL NVL NVL NVB NVB NVB".
#pragma once

#include <string>

#include "common/json_file.h"
#include "topo/cluster.h"

namespace proteus {

std::string FormatTopology(const Cluster& cluster);
Json TopologyJson(const Cluster& cluster);

}  // namespace proteus
