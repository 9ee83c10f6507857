#include "simulator/compile/mesh.h"

namespace proteus {

DeviceMesh::DeviceMesh(const std::vector<MeshAxis>& axes) : axes_(axes), stride_(axes.size(), 1) {
  for (int i = static_cast<int>(axes_.size()) - 1; i >= 0; --i) {
    stride_[i] = num_ranks_;
    num_ranks_ *= axes_[i].size;
  }
}

int DeviceMesh::AxisIndex(std::string_view name) const {
  for (size_t i = 0; i < axes_.size(); ++i)
    if (axes_[i].name == name) return static_cast<int>(i);
  return -1;
}

int DeviceMesh::WithCoord(int rank, int axis, int coord) const {
  return rank + (coord - Coord(rank, axis)) * stride_[axis];
}

std::vector<GpuId> DeviceMesh::Group(int rank, int axis) const {
  std::vector<GpuId> g;
  g.reserve(axes_[axis].size);
  for (int c = 0; c < axes_[axis].size; ++c) g.push_back(WithCoord(rank, axis, c));
  return g;
}

std::string DeviceMesh::Label(int rank) const {
  std::string s;
  for (size_t i = 0; i < axes_.size(); ++i)
    s += (s.empty() ? "" : "/") + axes_[i].name + std::to_string(Coord(rank, static_cast<int>(i)));
  return s.empty() ? "rank0" : s;
}

}  // namespace proteus
