#include "topo/paths.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace proteus {
namespace {

struct BfsEntry {
  PathType type = PathType::kDis;
  double bw = 0;
  int hops = -1;
  LinkId via = -1;  // last link into this vertex
};

PathType StepType(const LinkGraph& g, NodeId from, const Link& link, NodeId source) {
  PathType t = PathType::kLoc;
  switch (link.kind) {
    case LinkKind::kNvLink: t = PathType::kNvl; break;
    case LinkKind::kC2C: t = PathType::kC2c; break;
    case LinkKind::kPcie: t = PathType::kPix; break;
    case LinkKind::kCpuInterconnect: t = PathType::kSys; break;
    case LinkKind::kNet: t = PathType::kNet; break;
    case LinkKind::kLoopback: t = PathType::kLoc; break;
  }
  VertexKind a = g.vertices[from].kind, b = g.vertices[link.dst].kind;
  if (a == VertexKind::kPciSwitch && b == VertexKind::kPciSwitch) t = std::max(t, PathType::kPxb);
  if (link.kind == LinkKind::kPcie && (a == VertexKind::kCpu || b == VertexKind::kCpu))
    t = std::max(t, PathType::kPhb);
  if (a == VertexKind::kGpu && from != source && link.kind == LinkKind::kNvLink) t = std::max(t, PathType::kNvb);
  return t;
}

// Breadth-first search from one GPU; returns per-vertex best entry.
std::vector<BfsEntry> SearchFrom(const LinkGraph& g, NodeId source) {
  std::vector<BfsEntry> best(g.vertices.size());
  best[source] = {PathType::kLoc, 1e30, 0, -1};
  std::vector<NodeId> frontier = {source};
  while (!frontier.empty()) {
    std::vector<NodeId> next;
    for (NodeId v : frontier) {
      const BfsEntry cur = best[v];
      VertexKind kind = g.vertices[v].kind;
      if (v != source && kind == VertexKind::kNic) continue;  // NICs are endpoints
      for (LinkId id : g.out_links[v]) {
        const Link& link = g.links[id];
        if (v != source && kind == VertexKind::kGpu &&
            (link.kind != LinkKind::kNvLink || g.links[cur.via].kind != LinkKind::kNvLink))
          continue;  // a GPU forwards only NVLink to NVLink
        if (link.dst == source) continue;
        BfsEntry& rem = best[link.dst];
        double bw = std::min(cur.bw, link.bandwidth);
        if ((rem.hops < 0 || rem.hops > cur.hops) && rem.bw < bw) {
          if (rem.hops < 0 || rem.hops > cur.hops + 1) next.push_back(link.dst);
          rem = {std::max(cur.type, StepType(g, v, link, source)), bw, cur.hops + 1, id};
        }
      }
    }
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    frontier = std::move(next);
  }
  return best;
}

Path Extract(const LinkGraph& g, const std::vector<BfsEntry>& best, NodeId source, NodeId dst) {
  Path p;
  if (dst == source) return {PathType::kLoc, 1e30, {}};
  if (best[dst].hops < 0) return p;
  p.type = best[dst].type;
  p.bw = best[dst].bw;
  for (NodeId v = dst; v != source; v = g.links[best[v].via].src) p.links.push_back(best[v].via);
  std::reverse(p.links.begin(), p.links.end());
  return p;
}

// NCCL paths.cc: reach a NIC through an NVLink peer when the GPU's own route crosses a CPU or is slower.
void ApplyPxn(NodePaths& paths) {
  const int ngpus = static_cast<int>(paths.gpu_gpu.size());
  for (int g = 0; g < ngpus; ++g) {
    for (size_t n = 0; n < paths.gpu_nic[g].size(); ++n) {
      const Path& own = paths.gpu_nic[g][n];
      int best_peer = -1;
      double best_bw = 0;
      for (int p = 0; p < ngpus; ++p) {
        if (p == g) continue;
        const Path& pn = paths.gpu_nic[p][n];
        const Path& gp = paths.gpu_gpu[g][p];
        if (pn.type > PathType::kPxb || gp.type > PathType::kNvl) continue;
        if (!(pn.bw > own.bw || own.type > PathType::kPxb)) continue;
        double bw = std::min(pn.bw, gp.bw);
        if (bw > best_bw) { best_bw = bw; best_peer = p; }
      }
      if (best_peer < 0) continue;
      Path pxn{PathType::kPxn, best_bw, paths.gpu_gpu[g][best_peer].links};
      const auto& tail = paths.gpu_nic[best_peer][n].links;
      pxn.links.insert(pxn.links.end(), tail.begin(), tail.end());
      paths.gpu_nic[g][n] = std::move(pxn);
    }
  }
}

// The best CPU for a GPU (see paths.h) and the path there and back.
void SetLocalCpu(const NodeTopology& topo, const std::vector<BfsEntry>& best, int g, NodePaths& paths) {
  NodeId source = topo.gpus[g], cpu = -1;
  for (NodeId v = 0; v < static_cast<NodeId>(topo.graph.vertices.size()); ++v) {
    if (topo.graph.vertices[v].kind != VertexKind::kCpu || best[v].hops < 0) continue;
    if (cpu < 0) { cpu = v; continue; }
    const BfsEntry &a = best[v], &b = best[cpu];
    if (a.type < b.type || (a.type == b.type && (a.bw > b.bw || (a.bw == b.bw && a.hops < b.hops)))) cpu = v;
  }
  paths.local_cpu[g] = cpu;
  if (cpu < 0) return;
  Path up = Extract(topo.graph, best, source, cpu);
  Path down{up.type, up.bw, {}};
  for (auto it = up.links.rbegin(); it != up.links.rend(); ++it) {
    LinkId back = *it < static_cast<LinkId>(topo.reverse.size()) ? topo.reverse[*it] : -1;
    if (back < 0) {  // a one-way link: no route back
      down = Path{};
      break;
    }
    down.links.push_back(back);
    down.bw = std::min(down.bw, topo.graph.links[back].bandwidth);
  }
  paths.gpu_cpu[g] = std::move(up);
  paths.cpu_gpu[g] = std::move(down);
}

}  // namespace

std::string_view PathTypeName(PathType t) {
  static constexpr std::array<std::string_view, 11> kNames = {"LOC", "NVL", "NVB", "C2C", "PIX", "PXB",
                                                              "PXN", "PHB", "SYS", "NET", "DIS"};
  return kNames[static_cast<int>(t)];
}

NodePaths ComputeNodePaths(const NodeTopology& topo) {
  NodePaths paths;
  const int ngpus = topo.NumGpus();
  paths.gpu_gpu.assign(ngpus, std::vector<Path>(ngpus));
  paths.gpu_nic.assign(ngpus, std::vector<Path>(topo.nics.size()));
  paths.gpu_cpu.assign(ngpus, Path{});
  paths.cpu_gpu.assign(ngpus, Path{});
  paths.local_cpu.assign(ngpus, -1);
  for (int g = 0; g < ngpus; ++g) {
    auto best = SearchFrom(topo.graph, topo.gpus[g]);
    SetLocalCpu(topo, best, g, paths);
    for (int h = 0; h < ngpus; ++h) paths.gpu_gpu[g][h] = Extract(topo.graph, best, topo.gpus[g], topo.gpus[h]);
    for (size_t n = 0; n < topo.nics.size(); ++n)
      paths.gpu_nic[g][n] = Extract(topo.graph, best, topo.gpus[g], topo.nics[n]);
  }
  ApplyPxn(paths);
  paths.local_nic.assign(ngpus, -1);
  std::vector<int> used(topo.nics.size(), 0);
  for (int g = 0; g < ngpus; ++g) {
    int best = -1;
    for (size_t n = 0; n < topo.nics.size(); ++n) {
      const Path& p = paths.gpu_nic[g][n];
      if (p.type == PathType::kDis) continue;
      if (best < 0) { best = static_cast<int>(n); continue; }
      const Path& b = paths.gpu_nic[g][best];
      // Best type, then bandwidth, then the NIC fewer GPUs use (two GPUs and two NICs on one switch
      // pair up one-to-one, as NCCL's channels do).
      if (p.type < b.type || (p.type == b.type && p.bw > b.bw) ||
          (p.type == b.type && p.bw == b.bw && used[n] < used[best]))
        best = static_cast<int>(n);
    }
    paths.local_nic[g] = best;
    if (best >= 0) ++used[best];
  }
  return paths;
}

}  // namespace proteus
