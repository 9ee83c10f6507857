// The device mesh as ranks: mixed-radix coordinates, innermost axis fastest.
//
//   mesh [pp 2, dp 2, tp 2]: stride(tp) = 1, stride(dp) = 2, stride(pp) = 4;
//   rank 5 = pp 1, dp 0, tp 1; its tp group is {4, 5}, its dp group {5, 7}, its pp group {1, 5}.
// Rank r runs on the cluster's GPU r (the job takes the first MeshGpus() GPUs).
//
// A collective may span part of an axis (AxisSpan). HSDP cuts a dp axis of size d into d / n blocks
// of n consecutive coordinates: the shard group is the rank's block, the replicate group the ranks
// at the same place in every block. Mesh [dp 16], n 8: rank 11's shard group is {8..15}, its
// replicate group {3, 11}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "simulator/strategy/strategy.h"
#include "topo/ids.h"

namespace proteus {

/// Which ranks along one mesh axis a collective spans.
struct AxisSpan {
  int block = 0;        // 0: the whole axis; else blocks of this many consecutive coordinates
  bool across = false;  // with block: one rank per block (the replicate group), not the own block
  bool operator==(const AxisSpan&) const = default;
};

class DeviceMesh {
 public:
  explicit DeviceMesh(const std::vector<MeshAxis>& axes);
  int NumRanks() const { return num_ranks_; }
  int NumAxes() const { return static_cast<int>(axes_.size()); }
  /// Index of a named axis, -1 if the mesh has none.
  int AxisIndex(std::string_view name) const;
  const std::string& AxisName(int axis) const { return axes_[axis].name; }
  int Size(int axis) const { return axes_[axis].size; }
  int Coord(int rank, int axis) const { return rank / stride_[axis] % axes_[axis].size; }
  int WithCoord(int rank, int axis, int coord) const;
  /// Ranks differing from `rank` only in `axis`, in coordinate order (the collective's group).
  std::vector<GpuId> Group(int rank, int axis) const;
  /// The part of that group `span` names, in coordinate order.
  std::vector<GpuId> Group(int rank, int axis, AxisSpan span) const;
  /// The first member of `rank`'s `span` group along `axis` (Group(rank, axis, span).front()).
  int GroupLeader(int rank, int axis, AxisSpan span) const;
  /// Whether `rank` is the first member of its `span` group along `axis`.
  bool LeadsGroup(int rank, int axis, AxisSpan span) const;
  /// "pp1/dp0/tp1".
  std::string Label(int rank) const;

 private:
  std::vector<MeshAxis> axes_;
  std::vector<int> stride_;
  int num_ranks_ = 1;
};

}  // namespace proteus
