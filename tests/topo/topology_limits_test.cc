// Hostile topology XML: deep nesting is refused by depth (no recursion over 100k levels), and many
// siblings are read in one pass (their XML paths are numbered as visited, not by recounting).
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "topo/node_topology.h"

namespace proteus {
namespace {

// `levels` PCIe bridges nested inside one CPU, a GPU at the bottom.
std::string NestedPci(int levels) {
  std::string xml = "<system version=\"1\">\n<cpu numaid=\"0\" arch=\"x86_64\" vendor=\"GenuineIntel\">\n";
  for (int i = 0; i < levels; ++i) xml += "<pci class=\"0x060400\">";
  xml += "<pci busid=\"0000:11:00.0\" class=\"0x030200\"><gpu dev=\"0\" sm=\"90\"/></pci>";
  for (int i = 0; i < levels; ++i) xml += "</pci>";
  return xml + "\n</cpu>\n</system>\n";
}

std::string MessageOf(const std::string& xml) {
  try {
    (void)ParseNodeTopology(xml, "deep.xml");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(TopologyLimits, NestingWithinTheLimitParses) {
  // system, cpu, 58 bridges, the GPU's pci and the gpu: 62 levels of the 64 allowed.
  NodeTopology t = ParseNodeTopology(NestedPci(58), "deep.xml");
  EXPECT_EQ(t.NumGpus(), 1);
}

TEST(TopologyLimits, DeepNestingIsRefusedByLineAndDepth) {
  // 100k levels crashed the recursive reader with SIGSEGV; now refused before it walks the tree.
  std::string message = MessageOf(NestedPci(100000));
  EXPECT_NE(message.find("deep.xml: line 3: elements nested deeper than 64 levels"), std::string::npos) << message;
  message = MessageOf(NestedPci(61));  // 65 levels: one too many
  EXPECT_NE(message.find("nested deeper than 64 levels"), std::string::npos) << message;
}

TEST(TopologyLimits, ManySiblingsAreReadInOnePass) {
  // 200k non-bridge devices beside the GPU: finding each one's index among its previous siblings
  // took 2*10^10 steps; numbered in one pass it is linear.
  std::string xml = "<system version=\"1\"><cpu numaid=\"0\" arch=\"x86_64\" vendor=\"GenuineIntel\">";
  for (int i = 0; i < 200000; ++i) xml += "<pci class=\"0x010802\"/>";
  xml += "<pci busid=\"0000:11:00.0\" class=\"0x030200\"><gpu dev=\"0\" sm=\"x\"/></pci></cpu></system>";
  try {
    (void)ParseNodeTopology(xml, "wide.xml");
    FAIL() << "expected the bad sm to be refused";
  } catch (const UserError& e) {
    // The GPU's path counts every pci sibling before it.
    EXPECT_EQ(e.where(), "wide.xml: system/cpu[0]/pci[200000]/gpu[0]@sm") << e.what();
  }
}

}  // namespace
}  // namespace proteus
