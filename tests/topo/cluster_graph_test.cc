// The cluster graph composes node links from their topology instead of copying them: every id must
// read back what a link-by-link copy (the earlier representation, rebuilt here) held.
#include "topo/cluster_graph.h"

#include <gtest/gtest.h>

#include "topo/bandwidth_scale.h"
#include "topo/cluster.h"
#include "topo/node_topology.h"

namespace proteus {
namespace {

// Node copies named "node<n>/<local>", then the fabric's vertices and links as the graph holds them.
LinkGraph CopiedGraph(const Cluster& c) {
  LinkGraph g;
  for (int n = 0; n < c.NumNodes(); ++n) {
    const NodeTopology& t = c.TopologyOf(n);
    NodeId base = static_cast<NodeId>(g.vertices.size());
    EXPECT_EQ(base, c.node_vertex_base[n]);
    EXPECT_EQ(static_cast<LinkId>(g.links.size()), c.node_link_base[n]);
    for (const Vertex& v : t.graph.vertices) g.AddVertex(v.kind, "node" + std::to_string(n) + "/" + v.name);
    for (const Link& l : t.graph.links) g.AddLink(base + l.src, base + l.dst, l.kind, l.bandwidth, l.latency_s);
  }
  for (NodeId v = static_cast<NodeId>(g.vertices.size()); v < c.graph.NumVertices(); ++v) {
    Vertex fab = c.graph.VertexAt(v);
    g.AddVertex(fab.kind, fab.name);
  }
  for (LinkId l = static_cast<LinkId>(g.links.size()); l < c.graph.NumLinks(); ++l) {
    Link fab = c.graph.LinkAt(l);
    g.AddLink(fab.src, fab.dst, fab.kind, fab.bandwidth, fab.latency_s);
  }
  return g;
}

void ExpectSameAsCopy(const Cluster& c, const LinkGraph& copy) {
  ASSERT_EQ(c.graph.NumVertices(), static_cast<NodeId>(copy.vertices.size()));
  ASSERT_EQ(c.graph.NumLinks(), static_cast<LinkId>(copy.links.size()));
  for (NodeId v = 0; v < c.graph.NumVertices(); ++v) {
    Vertex got = c.graph.VertexAt(v);
    ASSERT_EQ(got.name, copy.vertices[v].name) << "vertex " << v;
    ASSERT_EQ(got.kind, copy.vertices[v].kind) << "vertex " << v;
  }
  std::vector<double> bandwidths = c.graph.Bandwidths();
  ASSERT_EQ(bandwidths.size(), copy.links.size());
  for (LinkId l = 0; l < c.graph.NumLinks(); ++l) {
    Link got = c.graph.LinkAt(l);
    const Link& want = copy.links[l];
    ASSERT_EQ(got.src, want.src) << "link " << l;
    ASSERT_EQ(got.dst, want.dst) << "link " << l;
    ASSERT_EQ(got.kind, want.kind) << "link " << l;
    ASSERT_EQ(got.bandwidth, want.bandwidth) << "link " << l;
    ASSERT_EQ(got.latency_s, want.latency_s) << "link " << l;
    ASSERT_EQ(c.graph.Bandwidth(l), want.bandwidth) << "link " << l;
    ASSERT_EQ(c.graph.KindOf(l), want.kind) << "link " << l;
    ASSERT_EQ(bandwidths[l], want.bandwidth) << "link " << l;
  }
}

TEST(ClusterGraph, MixedClusterReadsBackAsALinkByLinkCopy) {
  Cluster c = LoadCluster("data/clusters/hetero-a100-v100.json");  // two node kinds, a fat tree
  ASSERT_EQ(c.NumNodes(), 4);
  ExpectSameAsCopy(c, CopiedGraph(c));
  // A route's links chain vertex to vertex through node copies and the fabric.
  std::vector<LinkId> route = c.Route(0, c.NumGpus() - 1);
  for (size_t i = 0; i + 1 < route.size(); ++i)
    EXPECT_EQ(c.graph.LinkAt(route[i]).dst, c.graph.LinkAt(route[i + 1]).src);
}

TEST(ClusterGraph, RailClusterReadsBackAsALinkByLinkCopy) {
  Cluster c = LoadCluster("dgx-h100-16");
  ExpectSameAsCopy(c, CopiedGraph(c));
  // Nodes of one topology share one block: node 9's links are node 0's, shifted.
  LinkId per_node = c.node_link_base[1] - c.node_link_base[0];
  for (LinkId l = 0; l < per_node; ++l)
    EXPECT_EQ(c.graph.LinkAt(c.node_link_base[9] + l).src, c.graph.LinkAt(l).src + 9 * (c.node_vertex_base[1]));
}

TEST(ClusterGraph, ScaledBandwidthScalesNodeAndFabricLinks) {
  Cluster c = LoadCluster("data/clusters/hetero-a100-v100.json");
  LinkGraph before = CopiedGraph(c);
  Cluster fast = ScaleBandwidth(c, 2.5);
  for (Link& l : before.links) l.bandwidth *= 2.5;
  ExpectSameAsCopy(fast, before);
  // The original keeps its speeds.
  EXPECT_EQ(c.graph.Bandwidth(0), before.links[0].bandwidth / 2.5);
}

TEST(ClusterGraph, StoresNoLinkPerNode) {
  // The point of the representation: only the fabric's cables are stored, so a node's links cost
  // nothing per node. Two clusters that differ only in node count differ in stored links only by
  // the NIC cables.
  Cluster small = LoadCluster("dgx-h100-16"), large = LoadCluster("dgx-h100-1024");
  LinkId per_node = small.node_link_base[1] - small.node_link_base[0];
  EXPECT_GT(per_node, 16);
  EXPECT_EQ(large.graph.NumLinks() - large.graph.StoredLinks(),
            small.graph.NumLinks() - small.graph.StoredLinks() + LinkId{1008} * per_node);
}

}  // namespace
}  // namespace proteus
