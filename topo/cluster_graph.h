// The cluster's link graph without a copy per node. Every node of a node group is its group's
// topology; the graph stores that topology once per block of consecutive nodes and numbers node n's
// vertices and links from its base (node n of a block: base = block base + n x the topology's
// count). The fabric's switches and cables (NIC uplinks, leaf-core uplinks) follow every node's
// and are stored. Reading a vertex or link by id composes it: the same ids and values a graph
// copied link by link would hold (node vertices named "node<n>/<local name>"), in memory that grows
// with the fabric's cables, not with every node's NVLinks and PCIe links (a DGX H100 node has 66
// links of its own and 8 NIC cables, 16 fabric links).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "topo/ids.h"
#include "topo/link_graph.h"

namespace proteus {

struct NodeTopology;

class ClusterGraph {
 public:
  /// Appends `count` nodes of `topo` after every node added so far (before any fabric element).
  void AddNodes(std::shared_ptr<const NodeTopology> topo, int count);
  /// Fabric elements, after every node: a switch, and a cable between two vertices (node vertices
  /// such as a NIC, or switches). AddFabricCable returns the forward link; the reverse is id + 1.
  NodeId AddFabricVertex(VertexKind kind, std::string name);
  LinkId AddFabricCable(NodeId a, NodeId b, LinkKind kind, double bandwidth, double latency_s);

  int NumNodes() const { return nodes_; }
  NodeId NumVertices() const { return fabric_vertex_base_ + static_cast<NodeId>(fabric_vertices_.size()); }
  LinkId NumLinks() const { return fabric_link_base_ + static_cast<LinkId>(fabric_links_.size()); }
  /// Links held in memory (the fabric's); the others are composed from their node's topology.
  LinkId StoredLinks() const { return static_cast<LinkId>(fabric_links_.size()); }
  NodeId NodeVertexBase(int node) const;
  LinkId NodeLinkBase(int node) const;

  /// The link or vertex with this id, composed from its node's topology or read from the fabric.
  Link LinkAt(LinkId id) const;
  Vertex VertexAt(NodeId id) const;
  double Bandwidth(LinkId id) const;
  LinkKind KindOf(LinkId id) const;
  /// Every link's bandwidth, in id order (one pass, no per-link lookup).
  std::vector<double> Bandwidths() const;

  /// Multiplies every fabric link's bandwidth by `factor`, and replaces the topology `from` of the
  /// node blocks with `to` (the same topology with scaled links): what a what-if on link speed needs.
  void ScaleFabric(double factor);
  void ReplaceTopology(const NodeTopology* from, std::shared_ptr<const NodeTopology> to);

 private:
  struct Block {
    int first_node = 0, nodes = 0;
    NodeId first_vertex = 0, vertices_per_node = 0;
    LinkId first_link = 0, links_per_node = 0;
    std::shared_ptr<const NodeTopology> topo;
  };
  template <typename Id>
  const Block& BlockAt(Id id, Id Block::*first) const;
  const Block& BlockOfNode(int node) const;

  std::vector<Block> blocks_;
  int nodes_ = 0;
  NodeId fabric_vertex_base_ = 0;
  LinkId fabric_link_base_ = 0;
  std::vector<Vertex> fabric_vertices_;
  std::vector<Link> fabric_links_;  // src/dst are global vertex ids
};

}  // namespace proteus
