#include "topo/cluster_graph.h"

#include "common/error.h"
#include "topo/node_topology.h"

namespace proteus {

void ClusterGraph::AddNodes(std::shared_ptr<const NodeTopology> topo, int count) {
  PROTEUS_CHECK(fabric_vertices_.empty() && fabric_links_.empty(), "nodes are added before the fabric");
  PROTEUS_CHECK(topo && count > 0, "a node block needs a topology and at least one node");
  Block b;
  b.first_node = nodes_;
  b.nodes = count;
  b.first_vertex = fabric_vertex_base_;
  b.first_link = fabric_link_base_;
  b.vertices_per_node = static_cast<NodeId>(topo->graph.vertices.size());
  b.links_per_node = static_cast<LinkId>(topo->graph.links.size());
  // Ids stay int32 (ids.h): the cluster reader caps nodes far below where they would wrap.
  PROTEUS_CHECK(int64_t{b.vertices_per_node} * count + b.first_vertex < (int64_t{1} << 31) &&
                    int64_t{b.links_per_node} * count + b.first_link < (int64_t{1} << 31),
                "the cluster graph's ids would overflow");
  b.topo = std::move(topo);
  nodes_ += count;
  fabric_vertex_base_ += b.vertices_per_node * count;
  fabric_link_base_ += b.links_per_node * count;
  // Consecutive nodes of one topology form one block, whatever node group they belong to.
  if (!blocks_.empty() && blocks_.back().topo == b.topo) {
    blocks_.back().nodes += count;
    return;
  }
  blocks_.push_back(std::move(b));
}

NodeId ClusterGraph::AddFabricVertex(VertexKind kind, std::string name) {
  fabric_vertices_.push_back(Vertex{kind, std::move(name)});
  return NumVertices() - 1;
}

LinkId ClusterGraph::AddFabricCable(NodeId a, NodeId b, LinkKind kind, double bandwidth, double latency_s) {
  NodeId n = NumVertices();
  PROTEUS_CHECK(a >= 0 && a < n && b >= 0 && b < n, "link endpoints must be vertices");
  PROTEUS_CHECK(bandwidth > 0, "a link needs a positive bandwidth");
  LinkId fwd = NumLinks();
  fabric_links_.push_back(Link{a, b, kind, bandwidth, latency_s});
  fabric_links_.push_back(Link{b, a, kind, bandwidth, latency_s});
  return fwd;
}

// The block holding an id whose blocks start at `first`: few blocks (one per run of nodes of one
// topology), so a linear scan from the last beats a search.
template <typename Id>
const ClusterGraph::Block& ClusterGraph::BlockAt(Id id, Id Block::*first) const {
  for (size_t i = blocks_.size(); i-- > 1;)
    if (id >= blocks_[i].*first) return blocks_[i];
  return blocks_.front();
}

const ClusterGraph::Block& ClusterGraph::BlockOfNode(int node) const {
  PROTEUS_CHECK(node >= 0 && node < nodes_, "no such node in the cluster graph");
  return BlockAt(node, &Block::first_node);
}

NodeId ClusterGraph::NodeVertexBase(int node) const {
  const Block& b = BlockOfNode(node);
  return b.first_vertex + (node - b.first_node) * b.vertices_per_node;
}

LinkId ClusterGraph::NodeLinkBase(int node) const {
  const Block& b = BlockOfNode(node);
  return b.first_link + (node - b.first_node) * b.links_per_node;
}

Link ClusterGraph::LinkAt(LinkId id) const {
  PROTEUS_CHECK(id >= 0 && id < NumLinks(), "no such link in the cluster graph");
  if (id >= fabric_link_base_) return fabric_links_[id - fabric_link_base_];
  const Block& b = BlockAt(id, &Block::first_link);
  LinkId offset = id - b.first_link;
  NodeId vertex_base = b.first_vertex + (offset / b.links_per_node) * b.vertices_per_node;
  Link l = b.topo->graph.links[offset % b.links_per_node];
  l.src += vertex_base;
  l.dst += vertex_base;
  return l;
}

double ClusterGraph::Bandwidth(LinkId id) const {
  if (id >= fabric_link_base_) return fabric_links_[id - fabric_link_base_].bandwidth;
  const Block& b = BlockAt(id, &Block::first_link);
  return b.topo->graph.links[(id - b.first_link) % b.links_per_node].bandwidth;
}

LinkKind ClusterGraph::KindOf(LinkId id) const {
  if (id >= fabric_link_base_) return fabric_links_[id - fabric_link_base_].kind;
  const Block& b = BlockAt(id, &Block::first_link);
  return b.topo->graph.links[(id - b.first_link) % b.links_per_node].kind;
}

Vertex ClusterGraph::VertexAt(NodeId id) const {
  PROTEUS_CHECK(id >= 0 && id < NumVertices(), "no such vertex in the cluster graph");
  if (id >= fabric_vertex_base_) return fabric_vertices_[id - fabric_vertex_base_];
  const Block& b = BlockAt(id, &Block::first_vertex);
  NodeId offset = id - b.first_vertex;
  const Vertex& local = b.topo->graph.vertices[offset % b.vertices_per_node];
  int node = b.first_node + offset / b.vertices_per_node;
  return Vertex{local.kind, "node" + std::to_string(node) + "/" + local.name};
}

std::vector<double> ClusterGraph::Bandwidths() const {
  std::vector<double> out;
  out.reserve(NumLinks());
  for (const Block& b : blocks_)
    for (int n = 0; n < b.nodes; ++n)
      for (const Link& l : b.topo->graph.links) out.push_back(l.bandwidth);
  for (const Link& l : fabric_links_) out.push_back(l.bandwidth);
  return out;
}

void ClusterGraph::ScaleFabric(double factor) {
  for (Link& l : fabric_links_) l.bandwidth *= factor;
}

void ClusterGraph::ReplaceTopology(const NodeTopology* from, std::shared_ptr<const NodeTopology> to) {
  for (Block& b : blocks_) {
    if (b.topo.get() != from) continue;
    PROTEUS_CHECK(to->graph.vertices.size() == from->graph.vertices.size() &&
                      to->graph.links.size() == from->graph.links.size(),
                  "a replaced node topology keeps its vertices and links");
    b.topo = to;
  }
}

}  // namespace proteus
