// NCCL's tuning constants, per NCCL version: the latency and bandwidth tables its cost model
// (src/graph/tuning.cc, ncclTopoTuneModel / ncclTopoGetAlgoTime) and its channel search
// (src/graph/search.cc, speed arrays) use. proteus reproduces the model; these are its inputs.
//
// Model (per collective c, algorithm a, protocol p, as NCCL computes it):
//   busBw   = nChannels x bw_per_channel, then protocol/algorithm refinements (LL: /4 and a cap,
//             LL128: x0.92 and a per-channel cap, Tree: x0.92 and a per-channel cap, ...)
//   algBw   = busBw x ratio (ring: nRanks/nSteps; tree, collnet: 1/2; NVLS: 5/6)
//   latency = baseLat[a][p] + steps x hwLat[hw][a][p] (hw = NVLink, PCI or network)
//   time    = latency + bytes / algBw
// Worked example (8x H100, ring/Simple, version 2.21): 12 channels x 30 GB/s = 360 GB/s busBw;
// algBw = 360 x 8/14 = 205.7 GB/s; latency = 8.4 + 14 x 3.4 = 56 us; 1 GiB takes 56 + 5220 us.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace proteus {

// NCCL's order (src/include/devcomm.h), which the tables below follow.
enum class NcclAlgo { kTree, kRing, kCollNetDirect, kCollNetChain, kNvls, kNvlsTree, kPat };
enum class NcclProto { kLl, kLl128, kSimple };
inline constexpr int kNumAlgos = 7;
inline constexpr int kNumProtos = 3;
/// "tree", "ring", "collnet_direct", "collnet_chain", "nvls", "nvls_tree", "pat".
std::string_view AlgoName(NcclAlgo a);
/// "ll", "ll128", "simple".
std::string_view ProtoName(NcclProto p);
bool ParseAlgo(std::string_view name, NcclAlgo* out);
bool ParseProto(std::string_view name, NcclProto* out);

enum class NcclHw { kNvLink, kPci, kNet };

struct NcclTuning {
  std::string version;           // "2.21"
  std::string source;            // where the numbers come from
  int generation = 2;            // 1: NCCL 2.9-2.11 model (tree/ring/collnet), 2: 2.19-2.22, 3: 2.23+ (PAT)
  double base_lat_us[kNumAlgos][kNumProtos] = {};
  double hw_lat_us[3][kNumAlgos][kNumProtos] = {};
  // Generation >= 2: caps indexed [Volta, Ampere, Hopper][1 node, 2 nodes, more].
  double ll_max_bw[3][3] = {};
  double per_ch_max_ring_ll128_bw[3][3] = {};
  double per_ch_max_tree_ll128_bw[3][3] = {};
  double per_ch_max_tree_bw[3][3] = {};
  // Generation 1: LL128 per-channel caps per collective (broadcast, reduce, all_gather,
  // reduce_scatter, all_reduce).
  double ll128_max_bw_per_ch[5] = {};
  std::vector<std::vector<double>> tree_correction;  // [proto][log2(bytes/64)]
  std::vector<double> speed_intra, speed_inter;            // search.cc, before Hopper
  std::vector<double> sm90_speed_intra, sm90_speed_inter;  // search.cc, Hopper
  int max_channels = 32;         // MAXCHANNELS
  int nvls_channels = 16;        // NCCL_NVLS_NCHANNELS default on Hopper
  double net_overhead_us = 1.0;  // getNetOverhead (Intel x86 / other), x3 for Simple; AMD: 2
};

/// The tuning table of an NCCL version ("2.21", "2.21.5", "2.10"); versions between the modelled
/// ones use the closest older one. UserError listing the modelled versions for anything older.
const NcclTuning& NcclTuningFor(const std::string& version);
/// The default: the most recent modelled version.
const NcclTuning& DefaultNcclTuning();
/// Modelled versions, for help texts: "2.10, 2.21, 2.23".
std::string ModelledNcclVersions();

}  // namespace proteus
