#include "topo/link_graph.h"

#include "common/error.h"

namespace proteus {

NodeId LinkGraph::AddVertex(VertexKind kind, std::string name) {
  vertices.push_back(Vertex{kind, std::move(name)});
  out_links.emplace_back();
  return static_cast<NodeId>(vertices.size() - 1);
}

LinkId LinkGraph::AddLink(NodeId src, NodeId dst, LinkKind kind, double bandwidth, double latency_s) {
  const auto n = static_cast<NodeId>(vertices.size());
  PROTEUS_CHECK(src >= 0 && src < n && dst >= 0 && dst < n, "link endpoints must be vertices");
  PROTEUS_CHECK(bandwidth > 0, "a link needs a positive bandwidth");
  links.push_back(Link{src, dst, kind, bandwidth, latency_s});
  auto id = static_cast<LinkId>(links.size() - 1);
  out_links[src].push_back(id);
  return id;
}

LinkId LinkGraph::AddCable(NodeId a, NodeId b, LinkKind kind, double bandwidth, double latency_s) {
  LinkId fwd = AddLink(a, b, kind, bandwidth, latency_s);
  AddLink(b, a, kind, bandwidth, latency_s);
  return fwd;
}

std::string_view VertexKindName(VertexKind k) {
  switch (k) {
    case VertexKind::kGpu: return "gpu";
    case VertexKind::kNvSwitch: return "nvswitch";
    case VertexKind::kPciSwitch: return "pci";
    case VertexKind::kCpu: return "cpu";
    case VertexKind::kNic: return "nic";
    case VertexKind::kNetSwitch: return "netswitch";
  }
  return "?";
}

std::string_view LinkKindName(LinkKind k) {
  switch (k) {
    case LinkKind::kNvLink: return "nvlink";
    case LinkKind::kPcie: return "pcie";
    case LinkKind::kC2C: return "c2c";
    case LinkKind::kCpuInterconnect: return "sys";
    case LinkKind::kNet: return "net";
    case LinkKind::kLoopback: return "loopback";
  }
  return "?";
}

}  // namespace proteus
