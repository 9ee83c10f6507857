// Paths between GPUs and from GPUs to NICs inside one node, computed as NCCL does (src/graph/paths.cc).
//
// Model: a breadth-first search from each GPU; a vertex's path is replaced when the new one is not
// longer in hops and has a higher bottleneck bandwidth (min over its links). Paths never pass through
// a NIC, and pass through a GPU only NVLink-in/NVLink-out. The path type is the worst step:
//   LOC < NVL < NVB (NVLink via a GPU) < C2C < PIX (one PCIe switch) < PXB (several) < PXN (to a NIC
//   through an NVLink peer) < PHB (through a CPU) < SYS (across CPUs) < NET (another node) < DIS.
// GPU -> NIC paths use PXN when a GPU's own route is worse than PXB (or slower) and an NVLink peer
// sits on a PCIe switch with the NIC: route = GPU -> peer (NVLink) + peer -> NIC (PCIe).
// GPU -> CPU paths (host copies: cudaMemcpy to pinned memory, optimizer offload): the GPU's local CPU
// is the CPU vertex with the best path type, then the highest bandwidth, then the fewest hops, then
// the lowest index (NCCL's ncclTopoGetLocal picks the CPUs with the best path type the same way);
// the route is the BFS path, so it goes up the GPU's own PCIe (or C2C) links, never through a peer.
// The CPU -> GPU route is the same links in reverse.
// Worked example (DGX-1 V100): GPU0 -> GPU1 one NVLink hop, type NVL, 20 GB/s; GPU0 -> GPU5 has no
// NVLink, goes GPU0 -> PCIe switch -> CPU0 -> CPU1 -> ... : type SYS, 10 GB/s (Skylake QPI).
#pragma once

#include <string_view>
#include <vector>

#include "topo/node_topology.h"

namespace proteus {

enum class PathType { kLoc, kNvl, kNvb, kC2c, kPix, kPxb, kPxn, kPhb, kSys, kNet, kDis };
/// "LOC", "NVL", "NVB", "C2C", "PIX", "PXB", "PXN", "PHB", "SYS", "NET", "DIS" (NCCL's spelling).
std::string_view PathTypeName(PathType t);

struct Path {
  PathType type = PathType::kDis;
  double bw = 0;                  // bytes/s, bottleneck of the links
  std::vector<LinkId> links;      // in order from source to destination (local link ids of the node)
};

/// All GPU-GPU and GPU-NIC paths of one node.
struct NodePaths {
  std::vector<std::vector<Path>> gpu_gpu;  // [src gpu][dst gpu]; the diagonal is LOC, no links
  std::vector<std::vector<Path>> gpu_nic;  // [gpu][nic]
  /// Per GPU: the NIC NCCL would use for it (best type, then bandwidth, then nearest index), -1 if none.
  std::vector<int> local_nic;
  /// Per GPU: the path to its local CPU (type DIS, no links, when the node has no CPU vertex) and
  /// back (the reverse links, CPU first).
  std::vector<Path> gpu_cpu, cpu_gpu;
  /// Per GPU: its local CPU vertex (-1 if none).
  std::vector<NodeId> local_cpu;
};

NodePaths ComputeNodePaths(const NodeTopology& topo);

}  // namespace proteus
