// What-if: the same cluster with every link (NVLink, PCIe, C2C, CPU interconnect, NICs, fabric)
// `factor` times as fast. Latencies are unchanged. Used by `simulate --bandwidth-scale` and by the
// invariant "doubling every link bandwidth never slows a job".
#pragma once

#include "topo/cluster.h"

namespace proteus {

/// Returns a copy of `cluster` whose link bandwidths are multiplied by `factor` (> 0), in the
/// cluster graph, in every node topology (so NCCL's channel search and paths see them) and in the
/// fabric's per-NIC bandwidth.
Cluster ScaleBandwidth(const Cluster& cluster, double factor);

}  // namespace proteus
