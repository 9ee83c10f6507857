#include "simulator/compile/backward_split.h"

#include "common/error.h"

namespace proteus {

std::vector<char> WeightGradSteps(const std::vector<Step>& backward) {
  std::vector<char> w(backward.size(), 0);
  for (size_t k = 0; k < backward.size(); ++k) {
    const Step& st = backward[k];
    bool weight = st.phase == Phase::kBwdWeight;
    for (int d : st.deps) {
      PROTEUS_CHECK(d >= 0 && static_cast<size_t>(d) < k, "backward steps depend on earlier steps");
      weight = weight || w[d];
    }
    w[k] = weight;
  }
  return w;
}

}  // namespace proteus
