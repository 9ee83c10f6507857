#include "simulator/compile/symmetry_refusal.h"

#include <map>
#include <optional>
#include <tuple>

#include "simulator/compile/schedule.h"

namespace proteus {
namespace {

// The first pipeline rank whose GPUs disagree on `value_of(gpu)`: its index and two of the values
// it holds, or nullopt when every pipeline rank is uniform.
template <typename T, typename ValueOf>
std::optional<std::tuple<int, T, T>> FirstMixedPipelineRank(const DeviceMesh& mesh, ValueOf value_of) {
  int pp_axis = mesh.AxisIndex("pp");
  std::map<int, T> value_of_stage;
  for (int r = 0; r < mesh.NumRanks(); ++r) {
    int p = pp_axis < 0 ? 0 : mesh.Coord(r, pp_axis);
    T value = value_of(r);
    auto [it, fresh] = value_of_stage.try_emplace(p, value);
    if (!fresh && it->second != value) return std::make_tuple(p, it->second, value);
  }
  return std::nullopt;
}

// Symmetry lets one rank stand for its whole pipeline rank, which holds only when those GPUs are
// of one type (a V100 data-parallel replica runs slower than the A100 one that would mirror it).
// The note for the first pipeline rank whose GPUs mix types, or "" when none does.
std::string MixedTypeNote(const DeviceMesh& mesh, const Cluster& cluster) {
  auto mixed = FirstMixedPipelineRank<std::string>(mesh, [&](int r) { return cluster.GroupOf(r).gpu_type; });
  if (!mixed) return "";
  const auto& [p, type, other] = *mixed;
  return "pipeline rank " + std::to_string(p) + " mixes GPU types (" + type + ", " + other +
         "): every GPU simulated (symmetry needs the GPUs a representative stands for to be of its type)";
}

// Under dualpipe one chunk's gradient buckets overlap the other chunk's sends, so a data-parallel
// collective of a representative crosses node links that the unsimulated replicas' sends load at
// the same time; mirror flows join only the comm of the same step (AddMirrorFlows), so that load
// is missed when a pipeline rank's GPUs span several nodes (measured on pcie-4gpu-8-10gbe, pp 4 x
// dp 8: 0.3% fast). Rather than a wrong answer: the note for the first such pipeline rank, or "".
std::string TwoDirectionNote(const Strategy& s, const DeviceMesh& mesh, const Cluster& cluster) {
  if (!TwoDirections(s.schedule)) return "";
  auto spread = FirstMixedPipelineRank<int>(mesh, [&](int r) { return cluster.gpu_node[r]; });
  if (!spread) return "";
  const auto& [p, node, other] = *spread;
  return "pipeline rank " + std::to_string(p) + " spans nodes " + std::to_string(node) + " and " +
         std::to_string(other) +
         " under dualpipe: every GPU simulated (symmetry would miss the unsimulated replicas' sends on the "
         "node links its gradient collectives cross)";
}

}  // namespace

std::string SymmetryRefusal(const Strategy& s, const DeviceMesh& mesh, const Cluster& cluster) {
  std::string note = MixedTypeNote(mesh, cluster);
  return note.empty() ? TwoDirectionNote(s, mesh, cluster) : note;
}

}  // namespace proteus
