#include "topo/channel_search.h"

#include <algorithm>
#include <set>

#include "common/error.h"
#include "common/units.h"

namespace proteus {
namespace {

constexpr int kStepBudget = 4000;  // DFS steps per channel attempt (NCCL bounds its search the same way)
constexpr double kTrivialRingGbps = 0.1;  // search.cc: bwIntra = bwInter = 0.1 on the fallback ring

class Search {
 public:
  Search(const NodeTopology& topo, const NodePaths& paths, const ChannelSearchSpec& spec)
      : topo_(topo), paths_(paths), spec_(spec) {}

  // Finds as many channels as fit at `speed` with the given type limits; fills `out`.
  void Run(double speed, PathType intra_limit, PathType inter_limit, int max_channels, ChannelGraph* out);

 private:
  bool Fits(const std::vector<LinkId>& links, double s) const {
    for (LinkId l : links) if (cap_[l] < s - 1e-9) return false;
    return true;
  }
  void Take(const std::vector<LinkId>& links, double s) { for (LinkId l : links) cap_[l] -= s; }
  std::vector<LinkId> NicToGpu(int nic, int g) const {
    const auto& fwd = paths_.gpu_nic[g][nic].links;
    std::vector<LinkId> out;
    for (auto it = fwd.rbegin(); it != fwd.rend(); ++it) out.push_back(topo_.reverse[*it]);
    return out;
  }
  PathType NicType(int g, int nic) const {
    PathType t = paths_.gpu_nic[g][nic].type;
    return spec_.gdr ? t : std::max(t, PathType::kPhb);
  }
  bool Chain(std::vector<int>& order, std::vector<bool>& used, double s, PathType limit, bool close, int end_nic,
             PathType inter_limit);

  const NodeTopology& topo_;
  const NodePaths& paths_;
  const ChannelSearchSpec& spec_;
  std::vector<double> cap_;
  std::vector<double> nic_in_, nic_out_;
  int steps_ = 0;
  int exit_nic_ = -1;

 public:
  bool cross_nic_ = false;

 private:
  PathType worst_intra_ = PathType::kLoc, worst_inter_ = PathType::kLoc;
};

bool Search::Chain(std::vector<int>& order, std::vector<bool>& used, double s, PathType limit, bool close,
                   int end_nic, PathType inter_limit) {
  if (++steps_ > kStepBudget) return false;
  const int k = static_cast<int>(spec_.gpus.size());
  int cur = order.back();
  if (static_cast<int>(order.size()) == k) {
    if (close) {
      const Path& p = paths_.gpu_gpu[cur][order[0]];
      if (k > 1 && (p.type > limit || !Fits(p.links, s))) return false;
      if (k > 1) Take(p.links, s);
      return true;
    }
    if (end_nic < 0) return true;
    // Leave through the entry NIC; with cross_nic_, through any NIC (the entry NIC first, then the
    // next ones), as NCCL_CROSS_NIC allows.
    const int tries = cross_nic_ ? spec_.nics : 1;
    for (int t = 0; t < tries; ++t) {
      int nic = (end_nic + t) % spec_.nics;
      const Path& p = paths_.gpu_nic[cur][nic];
      if (NicType(cur, nic) > inter_limit || !Fits(p.links, s) || nic_out_[nic] < s - 1e-9) continue;
      Take(p.links, s);
      nic_out_[nic] -= s;
      exit_nic_ = nic;
      return true;
    }
    return false;
  }
  // Next GPU: most capacity left on the way first, then the lowest index (deterministic).
  std::vector<std::pair<double, int>> cands;
  for (int i = 0; i < k; ++i) {
    int g = spec_.gpus[i];
    if (used[i]) continue;
    const Path& p = paths_.gpu_gpu[cur][g];
    if (p.type > limit || !Fits(p.links, s)) continue;
    double room = 1e30;
    for (LinkId l : p.links) room = std::min(room, cap_[l]);
    cands.push_back({-room, i});
  }
  std::sort(cands.begin(), cands.end());
  for (const auto& [neg_room, i] : cands) {
    int g = spec_.gpus[i];
    const Path& p = paths_.gpu_gpu[cur][g];
    Take(p.links, s);
    used[i] = true;
    order.push_back(g);
    if (Chain(order, used, s, limit, close, end_nic, inter_limit)) return true;
    order.pop_back();
    used[i] = false;
    Take(p.links, -s);
    if (steps_ > kStepBudget) return false;
  }
  return false;
}

void Search::Run(double s, PathType intra_limit, PathType inter_limit, int max_channels, ChannelGraph* out) {
  cap_.assign(topo_.graph.links.size(), 0);
  for (size_t i = 0; i < cap_.size(); ++i) cap_[i] = topo_.graph.links[i].bandwidth / kGBps;
  nic_in_.assign(spec_.nics, spec_.nic_gbps);
  nic_out_.assign(spec_.nics, spec_.nic_gbps);
  *out = ChannelGraph{};
  const int k = static_cast<int>(spec_.gpus.size());
  for (int c = 0; c < max_channels; ++c) {
    steps_ = 0;
    std::vector<int> order;
    std::vector<bool> used(k, false);
    bool found = false;
    int nic_pick = -1, nic_exit = -1;
    if (!spec_.net) {
      order.push_back(spec_.gpus[0]);
      used[0] = true;
      found = Chain(order, used, s, intra_limit, spec_.pattern == ChannelPattern::kRing, -1, inter_limit);
    } else {
      // Spread channels over NICs: start with the NIC after the previous channel's.
      for (int t = 0; t < spec_.nics && !found; ++t) {
        int nic = (c + t) % spec_.nics;
        if (nic_in_[nic] < s - 1e-9) continue;
        for (int i = 0; i < k && !found; ++i) {
          int g = spec_.gpus[i];
          if (NicType(g, nic) > inter_limit) continue;
          auto in = NicToGpu(nic, g);
          if (!Fits(in, s)) continue;
          Take(in, s);
          nic_in_[nic] -= s;
          order = {g};
          std::fill(used.begin(), used.end(), false);
          used[i] = true;
          steps_ = 0;
          bool tree = spec_.pattern == ChannelPattern::kTree;
          if (tree) {
            // NCCL's TREE pattern: the NIC's both directions are served by the chain's first GPU.
            const Path& back = paths_.gpu_nic[g][nic];
            if (Fits(back.links, s) && nic_out_[nic] >= s - 1e-9) {
              Take(back.links, s);
              nic_out_[nic] -= s;
              found = Chain(order, used, s, intra_limit, false, -1, inter_limit);
              if (!found) { Take(back.links, -s); nic_out_[nic] += s; }
            }
          } else {
            found = Chain(order, used, s, intra_limit, false, nic, inter_limit);
          }
          if (!found) { Take(in, -s); nic_in_[nic] += s; }
          else nic_pick = nic, nic_exit = tree ? nic : exit_nic_;
        }
      }
    }
    if (!found) break;
    out->orders.push_back(order);
    out->nics.push_back({nic_pick, nic_exit});
  }
  out->n_channels = static_cast<int>(out->orders.size());
  out->bw_intra = out->bw_inter = s;
  out->type_intra = intra_limit;
  out->type_inter = spec_.net ? inter_limit : PathType::kLoc;
}

// The worst path type actually used by a channel set (for NCCL's hardware-latency class).
void MeasureTypes(const NodePaths& paths, const ChannelSearchSpec& spec, bool close, ChannelGraph* g) {
  PathType intra = PathType::kLoc;
  for (const auto& order : g->orders) {
    for (size_t i = 0; i + 1 < order.size(); ++i) intra = std::max(intra, paths.gpu_gpu[order[i]][order[i + 1]].type);
    if (close && order.size() > 1) intra = std::max(intra, paths.gpu_gpu[order.back()][order[0]].type);
  }
  g->type_intra = intra;
}

ChannelGraph SearchNvls(const NodeTopology& topo, const NodePaths& paths, const ChannelSearchSpec& spec,
                        const NcclTuning& tuning) {
  ChannelGraph g;
  if (!topo.has_nvswitch || tuning.nvls_channels == 0) return g;
  // Each NVLS channel moves `speed` between every GPU and the switch, both ways.
  double min_cap = 1e30;
  for (int gpu : spec.gpus) {
    double to_switch = 0;
    for (LinkId l : topo.graph.out_links[topo.gpus[gpu]]) {
      const Link& link = topo.graph.links[l];
      if (topo.graph.vertices[link.dst].kind == VertexKind::kNvSwitch) to_switch += link.bandwidth / kGBps;
    }
    min_cap = std::min(min_cap, to_switch);
  }
  if (min_cap <= 0 || min_cap >= 1e30) return g;
  const int channels = static_cast<int>(spec.gpus.size());
  for (double s : tuning.sm90_speed_intra) {
    if (channels * s <= min_cap + 1e-9) { g.bw_intra = s; break; }
  }
  if (g.bw_intra == 0) return g;
  g.n_channels = channels;
  g.type_intra = PathType::kNvl;
  g.bw_inter = g.bw_intra;
  for (int c = 0; c < channels; ++c) {
    g.orders.push_back(spec.gpus);
    int head = spec.gpus[c];
    int nic = spec.net ? std::min(paths.local_nic[head], spec.nics - 1) : -1;
    g.nics.push_back({nic, nic});
  }
  if (spec.net) {
    // Channel heads share NICs; the network speed is what every NIC can carry for its heads.
    std::vector<int> load(spec.nics, 0);
    for (const auto& [in, out] : g.nics) if (in >= 0) ++load[in];
    int worst = *std::max_element(load.begin(), load.end());
    g.bw_inter = 0;
    for (double s : tuning.sm90_speed_inter) {
      if (s <= g.bw_intra && worst * s <= spec.nic_gbps + 1e-9) { g.bw_inter = s; break; }
    }
    g.type_inter = PathType::kPix;
    if (g.bw_inter == 0) g.n_channels = 0;
  }
  g.single_bw = std::min(g.bw_intra, g.bw_inter);
  return g;
}

// NCCL's fallback when no speed fits (search.cc): one channel over the GPUs in index order, entering
// and leaving through the first NIC, at 0.1 GB/s and path type SYS. Any positive link speed plans.
ChannelGraph TrivialRing(const ChannelSearchSpec& spec) {
  ChannelGraph g;
  if (spec.net && spec.nics == 0) return g;
  g.n_channels = 1;
  g.bw_intra = g.bw_inter = kTrivialRingGbps;
  g.orders.push_back(spec.gpus);
  g.nics.push_back(spec.net ? std::pair{0, 0} : std::pair{-1, -1});
  g.type_intra = PathType::kSys;
  g.type_inter = spec.net ? PathType::kSys : PathType::kLoc;
  return g;
}

// NCCL duplicates channels at half the speed when the speed is high (search.cc ncclTopoDupChannels).
void DupChannels(const NcclTuning& tuning, int sm, int max_channels, ChannelGraph* best) {
  bool dup = best->bw_intra >= 25.0 &&
             !(tuning.generation >= 2 && sm > 80 && best->bw_intra < 50.0 && best->n_channels > 4);
  if (!dup) return;
  int n = std::min(best->n_channels * 2, max_channels);
  int factor = (n + best->n_channels - 1) / best->n_channels;
  for (int c = best->n_channels; c < n; ++c) {
    best->orders.push_back(best->orders[c - best->n_channels]);
    best->nics.push_back(best->nics[c - best->n_channels]);
  }
  best->bw_intra /= factor;
  best->bw_inter /= factor;
  best->n_channels = n;
}

}  // namespace

ChannelGraph SearchChannels(const NodeTopology& topo, const NodePaths& paths, const ChannelSearchSpec& spec,
                            const NcclTuning& tuning) {
  PROTEUS_CHECK(!spec.gpus.empty(), "a channel search needs GPUs");
  if (spec.pattern == ChannelPattern::kNvls) return SearchNvls(topo, paths, spec, tuning);
  int sm = topo.MinSm();
  const auto& speeds = spec.net ? (sm >= 90 ? tuning.sm90_speed_inter : tuning.speed_inter)
                                : (sm >= 90 ? tuning.sm90_speed_intra : tuning.speed_intra);
  // maxBw: the best single path a channel could use; totalBw: one GPU's whole bandwidth.
  double max_bw = 0, total_bw = 0;
  std::set<PathType> intra_types, inter_types;
  for (int a : spec.gpus) {
    double nvl = 0, pci = 0;
    for (LinkId l : topo.graph.out_links[topo.gpus[a]]) {
      const Link& link = topo.graph.links[l];
      (link.kind == LinkKind::kNvLink || link.kind == LinkKind::kC2C ? nvl : pci) += link.bandwidth / kGBps;
    }
    total_bw = std::max(total_bw, nvl > 0 ? nvl : pci);
    for (int b : spec.gpus) {
      if (a == b) continue;
      max_bw = std::max(max_bw, paths.gpu_gpu[a][b].bw / kGBps);
      intra_types.insert(paths.gpu_gpu[a][b].type);
    }
    for (int n = 0; spec.net && n < spec.nics; ++n) {
      inter_types.insert(spec.gdr ? paths.gpu_nic[a][n].type : std::max(paths.gpu_nic[a][n].type, PathType::kPhb));
      max_bw = std::max(max_bw, std::min(paths.gpu_nic[a][n].bw / kGBps, spec.nic_gbps));
    }
  }
  if (spec.gpus.size() == 1) { intra_types.insert(PathType::kLoc); if (!spec.net) max_bw = total_bw; }
  if (spec.net && inter_types.empty()) return {};
  const int max_channels = tuning.max_channels / 2;
  Search search(topo, paths, spec);
  size_t first = 0;
  while (first + 1 < speeds.size() && speeds[first] > max_bw + 1e-9) ++first;
  // Relaxations in NCCL's order at each speed: path type inside the node, then to the NIC, then
  // leaving through another NIC than the one entered (rings only).
  const bool can_cross = spec.net && spec.pattern == ChannelPattern::kRing && spec.nics > 1;
  auto search_best = [&](int channel_limit) {
    ChannelGraph best;
    for (size_t i = first; i < speeds.size(); ++i) {
      for (int cross = 0; cross <= (can_cross ? 1 : 0); ++cross) {
        search.cross_nic_ = cross == 1;
        for (PathType intra : intra_types) {
          for (PathType inter : spec.net ? std::vector<PathType>(inter_types.begin(), inter_types.end())
                                         : std::vector<PathType>{PathType::kLoc}) {
            ChannelGraph g;
            search.Run(speeds[i], intra, inter, channel_limit, &g);
            if (g.n_channels * g.bw_intra > best.n_channels * best.bw_intra + 1e-9) best = g;
            if (best.n_channels > 0) break;
          }
          if (best.n_channels > 0 && best.bw_intra == speeds[i]) break;
        }
        if (best.n_channels * best.bw_intra >= total_bw - 1e-9) break;
      }
      if (best.n_channels * best.bw_intra >= total_bw - 1e-9) break;
      // NCCL keeps lowering the speed only while the next one is more than half the found one.
      if (best.n_channels > 0 && i + 1 < speeds.size() && speeds[i + 1] / best.bw_intra <= 0.49) break;
    }
    return best;
  };
  ChannelGraph best = search_best(max_channels);
  if (best.n_channels == 0) best = TrivialRing(spec);
  else MeasureTypes(paths, spec, spec.pattern == ChannelPattern::kRing && !spec.net, &best);
  best.tree_pattern = spec.pattern == ChannelPattern::kTree && sm >= 90;
  DupChannels(tuning, sm, max_channels, &best);
  // What one channel alone would get: the search for a single channel (the first speed that fits
  // one), duplicated the same way. Many slow channels (NIC split into 5 x 0.12 GB/s) do not make
  // one launched channel slow: it runs at this speed (see LaunchedGraph in nccl_model.cc).
  ChannelGraph one = search_best(1);
  if (one.n_channels == 0) one = TrivialRing(spec);
  DupChannels(tuning, sm, max_channels, &one);
  best.single_bw = std::max(best.bw_intra, one.bw_intra);
  return best;
}

}  // namespace proteus
