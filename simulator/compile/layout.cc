#include "simulator/compile/layout.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {
namespace {

bool Indexes(const std::vector<std::string>& axes, const std::string& dim) {
  return std::find(axes.begin(), axes.end(), dim) != axes.end();
}

bool IndexesAnOutput(const Operator& op, const std::string& dim) {
  for (const auto& t : op.tensors)
    if (t.role == TensorRole::kOutput && Indexes(t.axes, dim)) return true;
  return false;
}

}  // namespace

TensorLayout LayoutOf(const Operator& op, const AxisPartition& partition, const std::vector<std::string>& axes,
                      LayoutUse use, int num_mesh_axes) {
  TensorLayout layout(num_mesh_axes, kReplicated);
  for (const auto& [dim, axis] : partition) {
    auto it = std::find(axes.begin(), axes.end(), dim);
    if (it != axes.end()) {
      layout[axis] = static_cast<int8_t>(it - axes.begin());
    } else if (use == LayoutUse::kWrite) {
      layout[axis] = kPartial;
    } else if (use == LayoutUse::kWeightGrad && IndexesAnOutput(op, dim)) {
      layout[axis] = kPartial;
    }
  }
  return layout;
}

TensorLayout GradientLayoutFor(const TensorLayout& forward_write) {
  TensorLayout g = forward_write;
  for (auto& s : g)
    if (s == kPartial) s = kReplicated;
  return g;
}

int64_t LocalBytes(const TensorLayout& layout, int64_t global_bytes, const std::vector<int>& axis_sizes) {
  int64_t b = global_bytes;
  for (size_t a = 0; a < layout.size(); ++a)
    if (layout[a] >= 0) b /= axis_sizes[a];
  return b;
}

std::vector<Conversion> ConvertLayout(const TensorLayout& from, const TensorLayout& to, int64_t global_bytes,
                                      const std::vector<int>& axis_sizes) {
  PROTEUS_CHECK(from.size() == to.size() && from.size() == axis_sizes.size(), "layout rank mismatch");
  std::vector<Conversion> out;
  TensorLayout cur = from;
  for (int a = static_cast<int>(cur.size()) - 1; a >= 0; --a) {
    int8_t f = cur[a], t = to[a];
    PROTEUS_CHECK(t != kPartial, "a consumer never reads a partial sum");
    if (f == t || axis_sizes[a] == 1) {
      cur[a] = t;
      continue;
    }
    // The buffer along this axis: other axes as they are now (sharded ones divide it).
    TensorLayout others = cur;
    others[a] = kReplicated;
    int64_t full = LocalBytes(others, global_bytes, axis_sizes);
    if (f == kPartial) {
      out.push_back({t == kReplicated ? CollOp::kAllReduce : CollOp::kReduceScatter, a, full});
    } else if (f >= 0 && t == kReplicated) {
      out.push_back({CollOp::kAllGather, a, full});
    } else if (f >= 0 && t >= 0) {
      out.push_back({CollOp::kAllToAll, a, full / axis_sizes[a]});
    }  // R -> S: each rank slices its part locally
    cur[a] = t;
  }
  return out;
}

std::string LayoutText(const TensorLayout& layout, const std::vector<std::string>& axis_names) {
  std::string s;
  for (size_t a = 0; a < layout.size(); ++a) {
    std::string st = layout[a] == kReplicated ? "R" : layout[a] == kPartial ? "P" : "S" + std::to_string(layout[a]);
    s += (s.empty() ? "" : " ") + st + "(" + axis_names[a] + ")";
  }
  return s;
}

}  // namespace proteus
