// The link graph: vertices (GPUs, NVSwitches, PCIe switches, CPUs, NICs, fabric switches) and
// directed links with a bandwidth (bytes/s) and a latency (s). A bidirectional cable is two links.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topo/ids.h"

namespace proteus {

enum class VertexKind { kGpu, kNvSwitch, kPciSwitch, kCpu, kNic, kNetSwitch };
enum class LinkKind { kNvLink, kPcie, kC2C, kCpuInterconnect, kNet, kLoopback };
/// "gpu", "nvswitch", "pci", "cpu", "nic", "netswitch".
std::string_view VertexKindName(VertexKind k);
/// "nvlink", "pcie", "c2c", "sys", "net", "loopback".
std::string_view LinkKindName(LinkKind k);

struct Vertex {
  VertexKind kind;
  std::string name;                     // "node3/gpu5", "node3/nvs0", "spine0"
};

struct Link {
  NodeId src = 0, dst = 0;
  LinkKind kind = LinkKind::kNvLink;
  double bandwidth = 0;                 // bytes/s, one direction
  double latency_s = 0;
};

struct LinkGraph {
  std::vector<Vertex> vertices;
  std::vector<Link> links;
  std::vector<std::vector<LinkId>> out_links;  // per vertex

  NodeId AddVertex(VertexKind kind, std::string name);
  LinkId AddLink(NodeId src, NodeId dst, LinkKind kind, double bandwidth, double latency_s);
  /// Adds both directions; returns the forward link id (reverse is id + 1).
  LinkId AddCable(NodeId a, NodeId b, LinkKind kind, double bandwidth, double latency_s);
};

}  // namespace proteus
