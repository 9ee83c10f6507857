#include "topo/nccl_tuning.h"

#include <array>
#include <cstdlib>

#include "common/error.h"

namespace proteus {
namespace {

constexpr std::array<std::string_view, kNumAlgos> kAlgoNames = {
    "tree", "ring", "collnet_direct", "collnet_chain", "nvls", "nvls_tree", "pat"};
constexpr std::array<std::string_view, kNumProtos> kProtoNames = {"ll", "ll128", "simple"};

// Tables of NVIDIA/nccl src/graph/tuning.cc and search.cc, restated. Units: us and GB/s as in NCCL.
NcclTuning MakeV2_10() {
  NcclTuning t;
  t.version = "2.10";
  t.source = "NVIDIA/nccl src/graph/tuning.cc and search.cc of the 2.9-2.11 releases (tree, ring, collnet)";
  t.generation = 1;
  // baseLat: Tree {4.4, 4.4, 0}, Ring {3.6, 10.0, 8.4}, CollNet {4.4, 4.4, 0} (CollNet -> collnet_direct).
  double base[3][3] = {{4.4, 4.4, 0}, {3.6, 10.0, 8.4}, {4.4, 4.4, 0}};
  // hwLat [NVLink, PCI, NET] x [Tree, Ring, CollNet] x [LL, LL128, Simple].
  double hw[3][3][3] = {{{.52, 1.2, 28}, {.47, 1.9, 3.4}, {.5, 1.2, 4.0}},
                        {{1.0, 1.9, 28}, {1.0, 2.5, 5.7}, {1.0, 1.9, 5.5}},
                        {{5.0, 8.5, 50}, {2.7, 4.0, 9.6}, {5.0, 5.0, 10.7}}};
  for (int a = 0; a < 3; ++a) {
    int algo = a == 2 ? static_cast<int>(NcclAlgo::kCollNetDirect) : a;
    for (int p = 0; p < 3; ++p) {
      t.base_lat_us[algo][p] = base[a][p];
      for (int h = 0; h < 3; ++h) t.hw_lat_us[h][algo][p] = hw[h][a][p];
    }
  }
  double ll128[5] = {18.8, 12.0, 18.3, 15.2, 16.7};
  for (int i = 0; i < 5; ++i) t.ll128_max_bw_per_ch[i] = ll128[i];
  t.tree_correction = {
      {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0},
      {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .5, .6, .6, .7, .7, .8, .9, .9, 1.0},
      {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .5, .5, .6, .6, .7, .8, .9}};
  t.speed_intra = {40.0, 30.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0};
  t.speed_inter = {48.0, 30.0, 28.0, 24.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.4, 1.2, 0.24, 0.12};
  t.sm90_speed_intra = t.speed_intra;
  t.sm90_speed_inter = t.speed_inter;
  t.net_overhead_us = 0;
  t.nvls_channels = 0;
  return t;
}

NcclTuning MakeV2_21() {
  NcclTuning t;
  t.version = "2.21";
  t.source = "NVIDIA/nccl src/graph/tuning.cc and search.cc of the 2.19-2.22 releases (adds NVLS, NVLS-tree, "
             "collnet chain/direct, per-architecture caps, network overhead)";
  t.generation = 2;
  double base[6][3] = {{6.8, 14.0, 0}, {6.6, 14.0, 8.4}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
  double hw[3][6][3] = {
      {{.6, 1.25, 28}, {.6, 1.9, 3.4}, {0, 0, 3.7}, {0, 0, 2.8}, {0, 0, 23}, {0, 0, 23}},
      {{1.0, 1.9, 28}, {1.0, 2.5, 5.7}, {0, 0, 3.7}, {0, 0, 2.8}, {0, 0, 0}, {0, 0, 0}},
      {{5.0, 8.5, 28}, {2.7, 4.0, 14.0}, {0, 0, 31}, {0, 0, 30}, {0, 0, 18}, {0, 0, 14}}};
  for (int a = 0; a < 6; ++a)
    for (int p = 0; p < 3; ++p) {
      t.base_lat_us[a][p] = base[a][p];
      for (int h = 0; h < 3; ++h) t.hw_lat_us[h][a][p] = hw[h][a][p];
    }
  double ll_max[3][3] = {{39.0, 39.0, 20.4}, {87.7, 22.5, 19.0}, {87.7, 22.5, 19.0}};
  double ring_ll128[3][3] = {{20.0, 20.0, 20.0}, {20.0, 20.0, 20.0}, {36.7, 36.7, 36.7}};
  double tree_ll128[3][3] = {{20.0, 20.0, 20.0}, {20.0, 20.0, 20.0}, {36.7, 36.7, 29.0}};
  double tree[3][3] = {{26.5, 18.5, 10.0}, {24.0, 23.6, 17.8}, {38.7, 41.4, 36.0}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      t.ll_max_bw[i][j] = ll_max[i][j];
      t.per_ch_max_ring_ll128_bw[i][j] = ring_ll128[i][j];
      t.per_ch_max_tree_ll128_bw[i][j] = tree_ll128[i][j];
      t.per_ch_max_tree_bw[i][j] = tree[i][j];
    }
  t.tree_correction = {
      {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0, 1.0},
      {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .6, .6, .6, .8, .9, .9, .9, .9, 1.0, 1.0},
      {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .6, .7, .8, .7, .7, .8, .9, .9}};
  t.speed_intra = {40.0, 30.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0};
  t.speed_inter = {48.0, 30.0, 28.0, 24.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.4, 1.2, 0.24, 0.12};
  t.sm90_speed_intra = {60.0, 50.0, 40.0, 30.0, 24.0, 20.0, 15.0, 12.0, 11.0, 6.0, 3.0};
  t.sm90_speed_inter = {48.0, 45.0, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5, 15.0, 12.0, 6.0, 3.0, 2.4, 1.2, 0.24, 0.12};
  return t;
}

// 2.23 adds PAT for all_gather / reduce_scatter with one GPU per node: busBw x 0.75, latency
// 8 + log2(nNodes) x interLat / 3.5 + nRanks x 2.8 us (tuning.cc of 2.23+). Other tables as 2.21.
NcclTuning MakeV2_23() {
  NcclTuning t = MakeV2_21();
  t.version = "2.23";
  t.source = "NVIDIA/nccl src/graph/tuning.cc of 2.23+ (2.21 tables plus PAT)";
  t.generation = 3;
  return t;
}

const std::array<NcclTuning, 3>& Tables() {
  static const std::array<NcclTuning, 3> kTables = {MakeV2_10(), MakeV2_21(), MakeV2_23()};
  return kTables;
}

// "2.21.5" -> 2*1000 + 21.
int VersionKey(const std::string& v, bool* ok) {
  char* end = nullptr;
  long major = std::strtol(v.c_str(), &end, 10);
  *ok = end && *end == '.' && major >= 2;
  if (!*ok) return 0;
  long minor = std::strtol(end + 1, &end, 10);
  return static_cast<int>(major * 1000 + minor);
}

}  // namespace

std::string_view AlgoName(NcclAlgo a) { return kAlgoNames[static_cast<int>(a)]; }
std::string_view ProtoName(NcclProto p) { return kProtoNames[static_cast<int>(p)]; }

bool ParseAlgo(std::string_view name, NcclAlgo* out) {
  for (int i = 0; i < kNumAlgos; ++i)
    if (kAlgoNames[i] == name) { *out = static_cast<NcclAlgo>(i); return true; }
  return false;
}

bool ParseProto(std::string_view name, NcclProto* out) {
  for (int i = 0; i < kNumProtos; ++i)
    if (kProtoNames[i] == name) { *out = static_cast<NcclProto>(i); return true; }
  return false;
}

const NcclTuning& NcclTuningFor(const std::string& version) {
  bool ok = false;
  int key = VersionKey(version, &ok);
  if (!ok) throw UserError("--nccl-version", "expected an NCCL version such as 2.21 or 2.21.5, got \"" + version + "\"");
  const NcclTuning* best = nullptr;
  for (const auto& t : Tables()) {
    bool tok = false;
    if (VersionKey(t.version, &tok) <= key) best = &t;
  }
  if (!best)
    throw UserError("--nccl-version", "NCCL " + version + " is older than the modelled versions (" +
                                           ModelledNcclVersions() + ")");
  return *best;
}

const NcclTuning& DefaultNcclTuning() { return Tables().back(); }

std::string ModelledNcclVersions() {
  std::string out;
  for (const auto& t : Tables()) out += (out.empty() ? "" : ", ") + t.version;
  return out;
}

}  // namespace proteus
