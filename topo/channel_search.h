// The channel search: how many parallel channels NCCL runs for a group inside one node, and at what
// bandwidth each (NCCL src/graph/search.cc, ncclTopoCompute). Written anew from its idea:
//
//   for speed in the architecture's speed array (highest first, not above the best path):
//     for path-type limit from NVL up to SYS:
//       repeat: find one more channel whose every hop has `speed` left on all its links, then take
//       `speed` off those links  (ring: a cycle over the GPUs; tree: a chain; NVLS: every GPU to the
//       NVSwitch and back; with a network: the channel also enters and leaves through a NIC)
//     keep the solution with the most channels x speed; stop when it uses the GPU's whole bandwidth
//   then, as NCCL does, double the channels at half the speed when speed >= 25 GB/s.
//   no speed fits at all: NCCL's fallback, one channel in GPU index order at 0.1 GB/s (type SYS).
// The same search limited to one channel gives `single_bw`: the speed a channel gets when fewer
// channels run than were found (NCCL launches fewer for small messages).
// The search is bounded by a step budget, so it always ends and repeats exactly.
// Worked example (8x H100 on NVSwitch, ring): 370.8 GB/s per GPU; speed 60 fits 6 channels (360);
// duplicated: 12 channels of 30 GB/s.
#pragma once

#include <utility>
#include <vector>

#include "topo/nccl_tuning.h"
#include "topo/paths.h"

namespace proteus {

enum class ChannelPattern { kRing, kTree, kNvls };

struct ChannelSearchSpec {
  ChannelPattern pattern = ChannelPattern::kRing;
  std::vector<int> gpus;     // local GPU indices of the group in this node, ascending
  bool net = false;          // the group spans several nodes: channels enter and leave via NICs
  double nic_gbps = 0;       // per NIC and direction on the fabric, GB/s (net only)
  int nics = 0;              // NICs usable (the first `nics` of the node)
  bool gdr = true;           // GPUDirect RDMA; without it NIC traffic goes through the CPU (PHB)
};

struct ChannelGraph {
  int n_channels = 0;
  double bw_intra = 0, bw_inter = 0;   // GB/s per channel (NCCL units)
  PathType type_intra = PathType::kLoc, type_inter = PathType::kLoc;
  double single_bw = 0;                // GB/s one channel gets when it runs alone (>= the per-channel bw)
  bool tree_pattern = false;           // NCCL_TOPO_PATTERN_TREE (all NIC traffic on the first GPU)
  std::vector<std::vector<int>> orders;      // per channel: local GPU indices in ring/chain order
  std::vector<std::pair<int, int>> nics;     // per channel: NIC in, NIC out (-1 without network)
  double BusBw() const { return n_channels * (net_used() ? bw_inter : bw_intra); }
  bool net_used() const { return !nics.empty() && nics[0].first >= 0; }
};

ChannelGraph SearchChannels(const NodeTopology& topo, const NodePaths& paths, const ChannelSearchSpec& spec,
                            const NcclTuning& tuning);

}  // namespace proteus
