// libFuzzer target: the NCCL topology XML reader (ParseNodeTopology) and what is computed from an
// accepted topology (its GPU-to-GPU and GPU-to-NIC paths). Seeds: tests/fuzz/corpus/topology_xml
// (data/topos' dumps of real nodes).
#include <string>

#include "tests/fuzz/fuzz_target.h"
#include "topo/node_topology.h"
#include "topo/paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace proteus;
  std::string xml(fuzz_target::Text(data, size));
  fuzz_target::ExpectReturnOrUserError([&] {
    NodeTopology t = ParseNodeTopology(xml, "fuzz.xml");
    (void)ComputeNodePaths(t);
  });
  return 0;
}
