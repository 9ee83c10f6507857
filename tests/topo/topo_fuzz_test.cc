// Fuzz test of the topology readers: NCCL topology XML (ParseNodeTopology) and proteus.cluster/1
// files (LoadCluster). Every mutated input either loads into a usable topology (every link of
// positive, finite bandwidth; paths and routes computable) or throws UserError; never a crash, a
// hang, or another exception type. XML mutations work on the element tree (drop, duplicate, move or
// rename an element; drop, duplicate or garble an attribute with "nan", "1e400", "-1", "4294967296",
// ...) and on the text (truncate, flip a byte, splice markup in). Seeds: every data/topos/*.xml and a
// few data/clusters/*.json. Deterministic (fixed seeds), bounded by iteration count.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <pugixml.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_file.h"
#include "tests/common/json_mutator.h"
#include "tests/common/temp_dir.h"
#include "topo/cluster.h"
#include "topo/node_topology.h"
#include "topo/paths.h"

namespace proteus {
namespace {

// Deterministic mutations of an XML document (see the file comment).
class XmlMutator {
 public:
  explicit XmlMutator(uint64_t seed) : rng_(seed) {}

  std::string Mutate(const std::string& valid) {
    pugi::xml_document doc;
    doc.load_string(valid.c_str(), pugi::parse_default | pugi::parse_comments);
    int n = 1 + static_cast<int>(Pick(3));
    for (int i = 0; i < n; ++i) MutateTree(doc);
    std::ostringstream out;
    doc.save(out, "  ");
    std::string text = out.str();
    if (Pick(4) == 0) MutateText(text);
    return text;
  }

 private:
  size_t Pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  static void Collect(pugi::xml_node node, std::vector<pugi::xml_node>& out) {
    for (auto c : node.children())
      if (c.type() == pugi::node_element) {
        out.push_back(c);
        Collect(c, out);
      }
  }

  static bool IsAncestor(pugi::xml_node a, pugi::xml_node b) {
    for (; b; b = b.parent())
      if (a == b) return true;
    return false;
  }

  std::string Garbage() {
    static const char* kValues[] = {"",     "x",    "-1",          "0",          "nan",        "inf",
                                    "-inf", "1e308", "1e400",      "-1e400",     "2147483648", "4294967296",
                                    "0.5",  "0x10", "99999999999999999999",   "18446744073709551616",
                                    "-0",   " 7",   "0000:00:00.0", "(switch)",  "0x068000",   "0x0604"};
    return kValues[Pick(std::size(kValues))];
  }

  void MutateTree(pugi::xml_document& doc) {
    std::vector<pugi::xml_node> nodes;
    Collect(doc, nodes);
    if (nodes.empty()) return;
    pugi::xml_node node = nodes[Pick(nodes.size())];
    std::vector<pugi::xml_attribute> attrs(node.attributes_begin(), node.attributes_end());
    switch (Pick(8)) {
      case 0: node.parent().remove_child(node); return;
      case 1: node.parent().insert_copy_after(node, node); return;
      case 2: if (!attrs.empty()) node.remove_attribute(attrs[Pick(attrs.size())]); return;
      case 3:
        if (!attrs.empty()) {
          pugi::xml_attribute a = attrs[Pick(attrs.size())];
          node.append_attribute(a.name()).set_value(a.value());
        }
        return;
      case 4: {
        static const char* kNames[] = {"gpu", "pci", "nic", "net", "cpu", "nvlink", "c2c", "system", "x"};
        node.set_name(kNames[Pick(std::size(kNames))]);
        return;
      }
      case 5: {  // move under another element (a <gpu> outside its <pci>, a <net> in a <gpu>, ...)
        pugi::xml_node to = nodes[Pick(nodes.size())];
        if (IsAncestor(node, to)) return;
        to.append_copy(node);
        node.parent().remove_child(node);
        return;
      }
      case 6: {  // another element's attribute value (a bus id where a count was, ...)
        pugi::xml_node from = nodes[Pick(nodes.size())];
        std::vector<pugi::xml_attribute> from_attrs(from.attributes_begin(), from.attributes_end());
        if (!attrs.empty() && !from_attrs.empty())
          attrs[Pick(attrs.size())].set_value(from_attrs[Pick(from_attrs.size())].value());
        return;
      }
      default:
        if (!attrs.empty()) attrs[Pick(attrs.size())].set_value(Garbage().c_str());
        return;
    }
  }

  void MutateText(std::string& text) {
    if (text.empty()) return;
    size_t pos = Pick(text.size());
    static const char* kTokens[] = {"<", ">", "\"", "&", "&#0;", "<!--", "]]>", "</gpu>", "<gpu dev=\"9\"/>", "<?x"};
    switch (Pick(3)) {
      case 0: text.resize(pos); return;
      case 1: text[pos] = static_cast<char>(Pick(256)); return;
      default: text.insert(pos, kTokens[Pick(std::size(kTokens))]); return;
    }
  }

  std::mt19937_64 rng_;
};

// Links of an accepted topology must carry traffic: positive, finite bandwidth and latency.
void CheckLink(const Link& l, const std::string& src, const std::string& dst) {
  if (!(l.bandwidth > 0) || !std::isfinite(l.bandwidth) || !(l.latency_s >= 0) || !std::isfinite(l.latency_s))
    throw std::logic_error("accepted a link " + src + " -> " + dst + " of bandwidth " + std::to_string(l.bandwidth) +
                           " B/s, latency " + std::to_string(l.latency_s) + " s");
}

void CheckLinks(const LinkGraph& g) {
  for (const Link& l : g.links) CheckLink(l, g.vertices[l.src].name, g.vertices[l.dst].name);
}

void CheckLinks(const ClusterGraph& g) {
  for (LinkId i = 0; i < g.NumLinks(); ++i) {
    Link l = g.LinkAt(i);
    CheckLink(l, g.VertexAt(l.src).name, g.VertexAt(l.dst).name);
  }
}

void ParseAndUse(const std::string& xml) {
  NodeTopology t = ParseNodeTopology(xml, "fuzz.xml");
  CheckLinks(t.graph);
  for (double s : t.nic_speed)
    if (!(s >= 0) || !std::isfinite(s)) throw std::logic_error("accepted a NIC speed of " + std::to_string(s));
  NodePaths p = ComputeNodePaths(t);
  if (p.gpu_gpu.size() != t.gpus.size()) throw std::logic_error("paths do not cover the GPUs");
}

TEST(TopoFuzz, MutatedTopologyXmlParsesOrThrowsUserError) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator("data/topos")) {
    if (e.path().extension() != ".xml") continue;
    std::string valid = ReadTextFile(e.path().string());
    ASSERT_EQ(fuzz::Escaped([&] { ParseAndUse(valid); }), "") << e.path();
    XmlMutator mut(100 + files);
    int accepted = 0;
    for (int i = 0; i < fuzz::FuzzIterations(1200); ++i) {
      std::string xml = mut.Mutate(valid);
      std::string escaped = fuzz::Escaped([&] {
        ParseAndUse(xml);
        ++accepted;
      });
      ASSERT_EQ(escaped, "") << e.path() << " iteration " << i << ":\n" << xml;
    }
    // Mutations such as a dropped NVLink or a duplicated NIC still load; the checks past parsing run.
    EXPECT_GT(accepted, 100) << e.path();
    ++files;
  }
  EXPECT_GE(files, 6);
}


void LoadAndUse(const std::string& path) {
  Cluster c = LoadCluster(path);
  if (c.NumGpus() <= 0) throw std::logic_error("accepted a cluster without GPUs");
  CheckLinks(c.graph);
  // The longest route (first GPU to last) crosses the fabric when there are several nodes.
  (void)c.Route(0, c.NumGpus() - 1);
  (void)c.Route(c.NumGpus() - 1, 0);
}

TEST(TopoFuzz, MutatedClusterFilesLoadOrThrowUserError) {
  TempDir dir("proteus_topo_fuzz");
  for (const char* name : {"hetero-a100-v100", "dgx-h100-16-sharp", "pcie-4gpu-8-10gbe", "dgx1-v100-4"}) {
    Json valid = ReadJsonFile(std::string("data/clusters/") + name + ".json");
    fuzz::FuzzStats stats;
    EXPECT_EQ(fuzz::FuzzJsonReader(valid, 40, 300,
                                   [&](const Json& j) {
                                     LoadAndUse(dir.Write("cluster.json", j.dump(1, ' ', false,
                                                                                 Json::error_handler_t::replace)));
                                   },
                                   &stats),
              "")
        << name;
    EXPECT_GT(stats.accepted, 30) << name << ": " << stats.rejected << " rejected";
  }
}

// Regressions the fuzzer found, each with the input that showed it.
std::string XmlMessage(const std::string& from, const std::string& to) {
  std::string xml = ReadTextFile("data/topos/pcie-4gpu.xml");
  size_t at = xml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) xml.replace(at, from.size(), to);
  try {
    ParseAndUse(xml);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(TopoFuzz, AttributeValuesOutOfRangeNameTheAttribute) {
  // speed="1e400" was an infinite NIC speed (strtod reads it as inf).
  EXPECT_EQ(XmlMessage("speed=\"100000\"", "speed=\"1e400\"")
                .rfind("fuzz.xml: system/cpu[0]/pci[2]/nic[0]/net[0]@speed:", 0), 0u);
  // sm="nan" passed the `sm < 30` check and was cast to int (undefined behaviour).
  EXPECT_EQ(XmlMessage("dev=\"1\" sm=\"70\"", "dev=\"1\" sm=\"nan\"")
                .rfind("fuzz.xml: system/cpu[0]/pci[0]/pci[1]/gpu[0]@sm:", 0), 0u);
  // dev="0.5" was silently device 0, a duplicate of the real one.
  EXPECT_EQ(XmlMessage("dev=\"1\" sm=\"70\"", "dev=\"0.5\" sm=\"70\"")
                .rfind("fuzz.xml: system/cpu[0]/pci[0]/pci[1]/gpu[0]@dev:", 0), 0u);
  // link_width="1e308" made an infinite PCIe bandwidth.
  EXPECT_EQ(XmlMessage("link_width=\"16\"", "link_width=\"1e308\"").rfind("fuzz.xml: system/cpu[0]/pci[0]@link_width:", 0),
            0u);
  // A C2C count of -1 made a link of negative bandwidth; an NVLink count of 2^32 was cast to int.
  EXPECT_EQ(XmlMessage("<gpu dev=\"0\" sm=\"70\" rank=\"0\" gdr=\"1\">",
                       "<gpu dev=\"0\" sm=\"70\" rank=\"0\" gdr=\"1\"><c2c bw=\"40000\" count=\"-1\"/>")
                .rfind("fuzz.xml: system/cpu[0]/pci[0]/pci[0]/gpu[0]/c2c[0]@count:", 0), 0u);
  EXPECT_EQ(XmlMessage("<gpu dev=\"0\" sm=\"70\" rank=\"0\" gdr=\"1\">",
                       "<gpu dev=\"0\" sm=\"70\" rank=\"0\" gdr=\"1\"><nvlink target=\"0000:1a:00.0\" count=\"4294967296\"/>")
                .rfind("fuzz.xml: system/cpu[0]/pci[0]/pci[0]/gpu[0]/nvlink[0]@count:", 0), 0u);
}

std::string ClusterMessage(const TempDir& dir, const Json& doc) {
  try {
    LoadAndUse(dir.Write("c.json", doc.dump()));
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(TopoFuzz, ClusterCountsAndSpeedsOutOfRangeNameTheField) {
  TempDir dir("proteus_topo_fuzz");
  std::string file = dir.Write("c.json", "");
  Json valid = ReadJsonFile("data/clusters/dgx1-v100-4.json");
  // 2^63 - 1 nodes was cast to int -1: a cluster without GPUs was accepted; 2^32 + 2 became 2.
  for (int64_t count : {std::numeric_limits<int64_t>::max(), (int64_t{1} << 32) + 2}) {
    Json doc = valid;
    doc["node_groups"][0]["count"] = count;
    EXPECT_EQ(ClusterMessage(dir, doc).rfind(file + ": node_groups[0].count:", 0), 0u) << ClusterMessage(dir, doc);
  }
  // nic_gbps 1e308 made infinite NIC bandwidth.
  Json doc = valid;
  doc["fabric"]["nic_gbps"] = 1e308;
  EXPECT_EQ(ClusterMessage(dir, doc).rfind(file + ": fabric.nic_gbps:", 0), 0u) << ClusterMessage(dir, doc);
  // A generic name with a node count past int threw std::out_of_range from std::stoi.
  EXPECT_EQ(fuzz::Escaped([] { LoadCluster("dgx-h100-99999999999"); }), "");
  EXPECT_THROW(LoadCluster("dgx-h100-99999999999"), UserError);
  EXPECT_THROW(LoadCluster("dgx-h100-65537"), UserError);
}

TEST(TopoFuzz, GroupWithoutNicsInAMultiGroupClusterIsAUserError) {
  // Was accepted; routing from the NIC-less group then failed an internal check (exit 1).
  TempDir dir("proteus_topo_fuzz");
  std::string xml = ReadTextFile("data/topos/pcie-4gpu.xml");
  size_t nic = xml.find("<nic>"), end = xml.find("</nic>");
  ASSERT_NE(nic, std::string::npos);
  xml.erase(nic, end + 6 - nic);
  dir.Write("no-nic.xml", xml);
  Json doc = {{"format", "proteus.cluster/1"},
              {"node_groups", {{{"count", 1}, {"gpu", "V100-SXM2-32GB"}, {"topology", "pcie-4gpu"}},
                               {{"count", 1}, {"gpu", "V100-SXM2-32GB"}, {"topology", "no-nic.xml"}}}},
              {"fabric", {{"nic_gbps", 100}}}};
  EXPECT_NE(ClusterMessage(dir, doc).find("has no NIC"), std::string::npos) << ClusterMessage(dir, doc);
}

}  // namespace
}  // namespace proteus
