// The device mesh as ranks: mixed-radix coordinates, innermost axis fastest.
//
//   mesh [pp 2, dp 2, tp 2]: stride(tp) = 1, stride(dp) = 2, stride(pp) = 4;
//   rank 5 = pp 1, dp 0, tp 1; its tp group is {4, 5}, its dp group {5, 7}, its pp group {1, 5}.
// Rank r runs on the cluster's GPU r (the job takes the first MeshGpus() GPUs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "simulator/strategy/strategy.h"
#include "topo/ids.h"

namespace proteus {

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
  /// "pp1/dp0/tp1".
  std::string Label(int rank) const;

 private:
  std::vector<MeshAxis> axes_;
  std::vector<int> stride_;
  int num_ranks_ = 1;
};

}  // namespace proteus
