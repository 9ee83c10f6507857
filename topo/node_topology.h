// One node as NCCL sees it: the NCCL topology XML (NCCL_TOPO_DUMP_FILE / NCCL_TOPO_FILE) turned into
// a link graph of GPUs, NVSwitches, PCIe switches, CPUs and NICs, with NCCL's per-link bandwidths.
//
// Model (NCCL src/graph/topo.h, topo.cc, xml.cc):
//   NVLink   GPU -> peer:   count x per-link bandwidth of the GPU's architecture (SM70/80: 20 GB/s,
//                           SM86: 12, SM90: 20.6); every NVSwitch of a node is one vertex, as in NCCL.
//   C2C      GPU <-> CPU:   count x bw (attributes of <c2c>).
//   PCIe     child <-> parent: lanes x per-lane rate / 8 (Gen3 x16 = 12 GB/s, Gen4 = 24, Gen5 = 48).
//   CPU-CPU  inter-socket:  by vendor and model (Intel Skylake+ 10 GB/s, Sapphire Rapids 22,
//                           Emerald Rapids 40, AMD 16, older Intel 6).
//   NIC      one vertex per <net> port, attached to its PCIe parent; port speed in Mb/s.
// Worked example: <gpu sm="90"><nvlink target="(switch)" count="18" tclass="0x068000"/></gpu> gives
// a GPU <-> NVSwitch cable of 18 x 20.6 = 370.8 GB/s each way.
#pragma once

#include <string>
#include <vector>

#include "topo/link_graph.h"

namespace proteus {

struct NodeTopology {
  std::string name;              // file stem, e.g. "dgx-h100"
  std::string source;            // the file it was read from (for messages)
  LinkGraph graph;               // vertices of this node only; names are local ("gpu3", "nic0")
  std::vector<NodeId> gpus;      // local GPU index (ascending NCCL dev) -> vertex
  std::vector<NodeId> nics;      // NIC index (ascending NCCL net dev) -> vertex
  std::vector<double> nic_speed; // per NIC: port bandwidth from the XML, bytes/s (0 = not given)
  std::vector<int> gpu_sm;       // per GPU: compute capability x 10 (90 for H100)
  bool has_nvswitch = false;
  std::string cpu_vendor;        // "GenuineIntel", "AuthenticAMD", "" if absent
  std::string cpu_arch;          // "x86_64", "arm64", "ppc64"
  std::string gpu_type;          // <system proteus_gpu="..."> if given (a data/gpus name), else ""
  std::vector<LinkId> reverse;   // per link: the link in the opposite direction (-1 if none)

  int NumGpus() const { return static_cast<int>(gpus.size()); }
  int MinSm() const;
};

/// Parses NCCL topology XML text. `origin` names it in errors: UserError("<origin>: <xml path>", ...)
/// where the XML path looks like "system/cpu[1]/pci[0]/gpu[0]@sm".
NodeTopology ParseNodeTopology(const std::string& xml_text, const std::string& origin);

/// Reads a topology file: a path, or a name of data/topos/ ("dgx-h100" -> data/topos/dgx-h100.xml).
NodeTopology LoadNodeTopology(const std::string& name_or_path);

/// The GPU type name (data/gpus) of a topology: its proteus_gpu attribute, else by architecture
/// (sm 70: V100-SXM2-32GB, 80: A100-SXM4-80GB, 90: H100-SXM5-80GB).
std::string DefaultGpuType(const NodeTopology& topo);

/// NCCL's NVLink bandwidth per link for an architecture (sm = 70, 80, 86, 90, ...), bytes/s.
double NvLinkBwPerLink(int sm);

}  // namespace proteus
