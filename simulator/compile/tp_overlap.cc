#include "simulator/compile/tp_overlap.h"

namespace proteus {

std::string ChunkOf::Label() const {
  std::string first_text = std::to_string(first + 1);
  if (count > 1) first_text += "-" + std::to_string(first + count);
  return "[" + first_text + "/" + std::to_string(of) + "]";
}

bool SplitsAlongSequence(const Operator& local, int n) {
  if (n < 2) return false;
  const Dim* s = local.FindDim("s");
  return s && !s->extent_only && s->size % n == 0;
}

std::optional<Conversion> SingleCollective(const std::vector<Conversion>& convs, CollOp op,
                                           const std::vector<int>& axis_sizes) {
  if (convs.size() != 1 || convs[0].op != op || axis_sizes[convs[0].axis] < 2) return std::nullopt;
  return convs[0];
}

}  // namespace proteus
