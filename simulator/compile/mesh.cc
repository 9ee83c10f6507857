#include "simulator/compile/mesh.h"

#include "common/error.h"

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

std::vector<GpuId> DeviceMesh::Group(int rank, int axis, AxisSpan span) const {
  if (span.block == 0) return Group(rank, axis);
  int c = Coord(rank, axis), n = span.block, size = axes_[axis].size;
  PROTEUS_CHECK(n > 0 && size % n == 0, "an axis span must cut its axis into equal blocks");
  std::vector<GpuId> g;
  if (span.across)
    for (int k = c % n; k < size; k += n) g.push_back(WithCoord(rank, axis, k));
  else
    for (int k = c - c % n; k < c - c % n + n; ++k) g.push_back(WithCoord(rank, axis, k));
  return g;
}

int DeviceMesh::GroupLeader(int rank, int axis, AxisSpan span) const {
  int c = Coord(rank, axis);
  if (span.block == 0) return WithCoord(rank, axis, 0);
  return WithCoord(rank, axis, span.across ? c % span.block : c - c % span.block);
}

bool DeviceMesh::LeadsGroup(int rank, int axis, AxisSpan span) const {
  int c = Coord(rank, axis);
  if (span.block == 0) return c == 0;
  return span.across ? c < span.block : c % span.block == 0;
}

std::string DeviceMesh::Label(int rank) const {
  std::string s;
  for (size_t i = 0; i < axes_.size(); ++i)
    s += (s.empty() ? "" : "/") + axes_[i].name + std::to_string(Coord(rank, static_cast<int>(i)));
  return s.empty() ? "rank0" : s;
}

}  // namespace proteus
