#include "topo/node_topology.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <sstream>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/units.h"

namespace proteus {
namespace {

// NCCL src/graph/topo.h: per-link NVLink bandwidth (GB/s) by architecture.
constexpr double kSm60NvLinkGBps = 18.0, kSm70NvLinkGBps = 20.0, kSm80NvLinkGBps = 20.0,
                 kSm86NvLinkGBps = 12.0, kSm90NvLinkGBps = 20.6, kSm100NvLinkGBps = 40.1;
// NCCL src/graph/topo.h: inter-socket bandwidth (GB/s).
constexpr double kBdwQpiGBps = 6.0, kSklQpiGBps = 10.0, kSrpQpiGBps = 22.0, kErpQpiGBps = 40.0,
                 kAmdGBps = 16.0, kP9GBps = 32.0, kArmGBps = 6.0;
// PCIe Gen4 x16 (NCCL: 16 lanes x 120 / 80): used where a dump omits link speed and width at the root.
constexpr double kDefaultPcieGBps = 24.0;

struct PendingNvLink {
  NodeId gpu;
  std::string target;
  int count;
  std::string tclass;
  std::string where;
};

class XmlReader {
 public:
  explicit XmlReader(std::string origin) : origin_(std::move(origin)) {}
  NodeTopology Read(const pugi::xml_document& doc);

 private:
  [[noreturn]] void Fail(const std::string& path, const std::string& what) const {
    throw UserError(origin_ + ": " + path, what);
  }
  void ReadCpu(const pugi::xml_node& cpu, const std::string& path);
  void ReadChildren(const pugi::xml_node& parent, const std::string& path, NodeId parent_v, double parent_bw);
  void ReadPci(const pugi::xml_node& pci, const std::string& path, NodeId parent_v, double parent_bw);
  void ReadGpu(const pugi::xml_node& gpu, const std::string& path, NodeId gpu_v);
  void ReadNic(const pugi::xml_node& nic, const std::string& path, NodeId parent_v, double link_bw);
  /// A numeric attribute: nullopt when absent or empty; Fail at "<path>@<attr>" when present but not a
  /// finite number (an integer if `integer`) within [lo, hi]. `what` says what is expected.
  std::optional<double> Attr(const pugi::xml_node& n, const char* attr, const std::string& path, double lo,
                             double hi, bool integer, const std::string& what) const;
  void ConnectNvLinks();
  void ConnectCpus();
  NodeId NvSwitch();

  std::string origin_;
  NodeTopology topo_;
  std::vector<std::pair<int, NodeId>> gpu_by_dev_;
  std::vector<std::pair<int, NodeId>> nic_by_dev_;
  std::map<NodeId, double> nic_speed_;
  std::map<NodeId, int> gpu_sm_;
  std::map<std::string, NodeId> gpu_by_busid_;
  std::map<NodeId, NodeId> cpu_of_gpu_;
  std::vector<PendingNvLink> nvlinks_;
  std::vector<std::pair<NodeId, std::string>> cpus_;  // vertex, "vendor/family/model"
  NodeId current_cpu_ = -1;
  NodeId nvswitch_ = -1;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The leading number of `text` ("16.0 GT/s PCIe" -> 16); nullopt if it does not start with one.
// NaN and infinities parse (strtod reads "nan", "inf", "1e400"): callers range-check.
std::optional<double> ParseNumber(const char* text) {
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text) return std::nullopt;
  return v;
}

// Limits of attribute values, far above real hardware (NCCL dumps: PCIe Gen6 is 64 GT/s x16, NICs
// 800 Gb/s, an H100 has 18 NVLinks, Grace-Hopper C2C 900 GB/s); they keep every bandwidth finite.
constexpr double kMaxPcieGts = 1000, kMaxPcieLanes = 64, kMaxLinkCount = 1024, kMaxNetMbps = 1e8,
                 kMaxC2cMBps = 1e7, kMaxDev = 65535, kMinSm = 30, kMaxSm = 1000;

// "16.0 GT/s PCIe" x width -> GB/s as NCCL computes it (per-lane 0.75 GB/s for 8 GT/s, doubling per gen).
// nullopt when the dump leaves either unknown (absent, "Unknown", 0): the parent's bandwidth applies.
std::optional<double> PcieGBps(const pugi::xml_node& pci, const std::string& path) {
  auto rate = ParseNumber(pci.attribute("link_speed").value());
  auto width = ParseNumber(pci.attribute("link_width").value());
  if (rate && (!std::isfinite(*rate) || *rate > kMaxPcieGts))
    throw UserError(path + "@link_speed", "expected a PCIe link rate such as \"16.0 GT/s PCIe\" (at most " +
                                              std::to_string(static_cast<int>(kMaxPcieGts)) + " GT/s)");
  if (width && (!std::isfinite(*width) || *width > kMaxPcieLanes))
    throw UserError(path + "@link_width", "expected a PCIe lane count such as \"16\" (at most " +
                                              std::to_string(static_cast<int>(kMaxPcieLanes)) + ")");
  if (!rate || !width || !(*rate > 0) || !(*width > 0)) return std::nullopt;
  double per_lane;  // NCCL kvDictPciGen, in units of 100 Mb/s, divided by 80 below
  if (*rate >= 64) per_lane = 480;
  else if (*rate >= 32) per_lane = 240;
  else if (*rate >= 16) per_lane = 120;
  else if (*rate >= 8) per_lane = 60;
  else if (*rate >= 5) per_lane = 30;
  else per_lane = 15;
  return *width * per_lane / 80.0;
}

// The XML paths of one parent's children ("system/cpu[0]/pci[2]"), numbered per element name as they
// are visited in order. Counting previous siblings for each child would be quadratic in a file of
// many siblings.
class ChildPaths {
 public:
  explicit ChildPaths(const std::string& parent) : parent_(parent) {}
  std::string Next(const pugi::xml_node& child) {
    return parent_ + "/" + child.name() + "[" + std::to_string(count_[child.name()]++) + "]";
  }

 private:
  const std::string& parent_;
  std::map<std::string, int> count_;
};

// The first child named `name`, which is "<path>/<name>[0]".
std::string FirstChildPath(const std::string& path, const char* name) { return path + "/" + name + "[0]"; }

// The deepest element nesting a topology XML may have: an NCCL dump nests under 15 (system, cpu, a
// few PCIe switches, gpu, nvlink).
constexpr int kMaxXmlDepth = 64;

// Refuses elements nested deeper than kMaxXmlDepth, so the reader's walk (recursive over pci
// bridges) stays shallow. pugixml's traverse is itself iterative.
class DepthCheck : public pugi::xml_tree_walker {
 public:
  bool for_each(pugi::xml_node& node) override {
    if (depth() + 1 <= kMaxXmlDepth) return true;  // depth() is 0 for the root element
    too_deep_ = node;
    return false;
  }
  pugi::xml_node too_deep() const { return too_deep_; }

 private:
  pugi::xml_node too_deep_;
};

NodeTopology XmlReader::Read(const pugi::xml_document& doc) {
  pugi::xml_node system = doc.child("system");
  if (!system) Fail("system", "expected a <system> root element (an NCCL topology XML)");
  topo_.gpu_type = system.attribute("proteus_gpu").value();
  const std::string root = "system";
  ChildPaths paths(root);
  for (auto cpu : system.children("cpu")) ReadCpu(cpu, paths.Next(cpu));
  if (gpu_by_dev_.empty()) Fail("system", "no <gpu> elements found; an NCCL topology lists GPUs under cpu/pci");
  std::sort(gpu_by_dev_.begin(), gpu_by_dev_.end());
  for (size_t i = 0; i < gpu_by_dev_.size(); ++i) {
    if (i > 0 && gpu_by_dev_[i].first == gpu_by_dev_[i - 1].first)
      Fail("system", "two GPUs have dev=" + std::to_string(gpu_by_dev_[i].first));
    topo_.gpus.push_back(gpu_by_dev_[i].second);
    topo_.gpu_sm.push_back(gpu_sm_[gpu_by_dev_[i].second]);
    topo_.graph.vertices[gpu_by_dev_[i].second].name = "gpu" + std::to_string(i);
  }
  std::stable_sort(nic_by_dev_.begin(), nic_by_dev_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < nic_by_dev_.size(); ++i) {
    topo_.nics.push_back(nic_by_dev_[i].second);
    topo_.nic_speed.push_back(nic_speed_[nic_by_dev_[i].second]);
    topo_.graph.vertices[nic_by_dev_[i].second].name = "nic" + std::to_string(i);
  }
  ConnectNvLinks();
  ConnectCpus();
  topo_.has_nvswitch = nvswitch_ >= 0;
  const LinkGraph& g = topo_.graph;
  topo_.reverse.assign(g.links.size(), -1);
  for (size_t i = 0; i < g.links.size(); ++i)
    for (LinkId r : g.out_links[g.links[i].dst])
      if (g.links[r].dst == g.links[i].src && g.links[r].kind == g.links[i].kind) topo_.reverse[i] = r;
  return std::move(topo_);
}

void XmlReader::ReadCpu(const pugi::xml_node& cpu, const std::string& path) {
  NodeId v = topo_.graph.AddVertex(VertexKind::kCpu, "cpu" + std::to_string(cpus_.size()));
  std::string vendor = cpu.attribute("vendor").value();
  if (topo_.cpu_vendor.empty()) topo_.cpu_vendor = vendor;
  if (topo_.cpu_arch.empty()) topo_.cpu_arch = cpu.attribute("arch").value();
  std::string key = std::string(cpu.attribute("arch").value()) + "/" + vendor + "/" +
                    cpu.attribute("modelid").value();
  cpus_.push_back({v, key});
  current_cpu_ = v;
  ReadChildren(cpu, path, v, kDefaultPcieGBps);
}

void XmlReader::ReadChildren(const pugi::xml_node& parent, const std::string& path, NodeId parent_v,
                             double parent_bw) {
  ChildPaths paths(path);
  for (auto child : parent.children()) {
    std::string name = child.name();
    std::string cpath = paths.Next(child);
    if (name == "pci") ReadPci(child, cpath, parent_v, parent_bw);
    else if (name == "nic") ReadNic(child, cpath, parent_v, 0);
    else if (name == "gpu") Fail(cpath, "a <gpu> must be inside the <pci> element of its PCI device");
  }
}

std::optional<double> XmlReader::Attr(const pugi::xml_node& n, const char* attr, const std::string& path, double lo,
                                      double hi, bool integer, const std::string& what) const {
  const char* text = n.attribute(attr).value();
  if (!*text) return std::nullopt;
  auto v = ParseNumber(text);
  if (!v || !std::isfinite(*v) || *v < lo || *v > hi || (integer && *v != std::floor(*v)))
    Fail(path + "@" + attr, "expected " + what + ", got \"" + text + "\"");
  return v;
}

void XmlReader::ReadPci(const pugi::xml_node& pci, const std::string& path, NodeId parent_v, double parent_bw) {
  double bw = PcieGBps(pci, origin_ + ": " + path).value_or(parent_bw);
  std::string cls = Lower(pci.attribute("class").value());
  std::string busid = Lower(pci.attribute("busid").value());
  if (auto gpu = pci.child("gpu")) {
    NodeId v = topo_.graph.AddVertex(VertexKind::kGpu, "gpu?");
    topo_.graph.AddCable(v, parent_v, LinkKind::kPcie, bw * kGBps, 0);
    if (!busid.empty()) gpu_by_busid_[busid] = v;
    cpu_of_gpu_[v] = current_cpu_;
    ReadGpu(gpu, FirstChildPath(path, "gpu"), v);
    return;
  }
  if (auto nic = pci.child("nic")) {
    ReadNic(nic, FirstChildPath(path, "nic"), parent_v, bw);
    return;
  }
  bool bridge = cls.rfind("0x0604", 0) == 0 || pci.child("pci");
  if (!bridge) return;  // another device (NVMe, ...): not on any path NCCL uses
  NodeId v = topo_.graph.AddVertex(VertexKind::kPciSwitch, "pci" + busid);
  topo_.graph.AddCable(v, parent_v, LinkKind::kPcie, bw * kGBps, 0);
  ReadChildren(pci, path, v, bw);
}

void XmlReader::ReadGpu(const pugi::xml_node& gpu, const std::string& path, NodeId gpu_v) {
  auto dev = Attr(gpu, "dev", path, 0, kMaxDev, true, "the GPU's CUDA device index (dev=\"0\")");
  auto sm = Attr(gpu, "sm", path, kMinSm, kMaxSm, true, "the compute capability x 10 (sm=\"90\")");
  if (!dev) Fail(path + "@dev", "expected the GPU's CUDA device index (dev=\"0\")");
  if (!sm) Fail(path + "@sm", "expected the compute capability x 10 (sm=\"90\")");
  gpu_by_dev_.push_back({static_cast<int>(*dev), gpu_v});
  gpu_sm_[gpu_v] = static_cast<int>(*sm);
  ChildPaths paths(path);
  for (auto child : gpu.children()) {
    std::string name = child.name();
    std::string cpath = paths.Next(child);
    if (name == "nvlink") {
      std::string target = Lower(child.attribute("target").value());
      if (target.empty()) Fail(cpath + "@target", "expected the bus id of the NVLink peer");
      int count = static_cast<int>(
          Attr(child, "count", cpath, 1, kMaxLinkCount, true, "a positive NVLink count (count=\"18\")").value_or(1));
      std::string tclass = Lower(child.attribute("tclass").value());
      nvlinks_.push_back({gpu_v, target, count, tclass, cpath});
    } else if (name == "c2c") {
      auto bw_mbps = Attr(child, "bw", cpath, 0, kMaxC2cMBps, false, "the C2C bandwidth per link in MB/s");
      int count = static_cast<int>(
          Attr(child, "count", cpath, 1, kMaxLinkCount, true, "a positive C2C link count").value_or(1));
      if (!bw_mbps || *bw_mbps <= 0) Fail(cpath + "@bw", "expected the C2C bandwidth per link in MB/s");
      // NCCL topo.cc: C2C bandwidth = bw x count / 1000 GB/s, between the GPU and its CPU.
      topo_.graph.AddCable(gpu_v, current_cpu_, LinkKind::kC2C, *bw_mbps * count / 1000.0 * kGBps, 0);
    }
  }
}

void XmlReader::ReadNic(const pugi::xml_node& nic, const std::string& path, NodeId parent_v, double link_bw) {
  ChildPaths paths(path);
  for (auto net : nic.children("net")) {
    std::string npath = paths.Next(net);
    auto dev = Attr(net, "dev", npath, 0, kMaxDev, true, "the NIC's net device index (dev=\"0\")");
    double speed_mbps =
        Attr(net, "speed", npath, 0, kMaxNetMbps, false, "the port speed in Mb/s (speed=\"400000\")").value_or(0);
    NodeId v = topo_.graph.AddVertex(VertexKind::kNic, net.attribute("name").value());
    // A NIC hanging directly off a CPU (bonded or virtual) has no PCIe link of its own: NCCL gives
    // it the port speed; a missing speed falls back to a Gen4 x16 link.
    double bw = link_bw > 0 ? link_bw : speed_mbps > 0 ? speed_mbps / 8000.0 : kDefaultPcieGBps;
    topo_.graph.AddCable(v, parent_v, LinkKind::kPcie, bw * kGBps, 0);
    nic_by_dev_.push_back({dev ? static_cast<int>(*dev) : static_cast<int>(nic_by_dev_.size()), v});
    nic_speed_[v] = speed_mbps / 8000.0 * kGBps;
  }
}

NodeId XmlReader::NvSwitch() {
  if (nvswitch_ < 0) nvswitch_ = topo_.graph.AddVertex(VertexKind::kNvSwitch, "nvswitch");
  return nvswitch_;
}

void XmlReader::ConnectNvLinks() {
  std::map<std::pair<NodeId, NodeId>, int> counts;  // (gpu, peer) -> links
  std::map<NodeId, int> to_switch;
  for (const auto& l : nvlinks_) {
    // NCCL topo.cc: tclass 0x068000 is an NVSwitch, 0x0604xx a CPU (POWER9), else a GPU by bus id.
    auto it = gpu_by_busid_.find(l.target);
    if (l.tclass.rfind("0x0604", 0) == 0 && cpu_of_gpu_[l.gpu] >= 0) {
      counts[{l.gpu, cpu_of_gpu_[l.gpu]}] += l.count;
    } else if (l.tclass != "0x068000" && it != gpu_by_busid_.end()) {
      if (it->second == l.gpu) Fail(l.where + "@target", "an NVLink from a GPU to itself");
      counts[{l.gpu, it->second}] += l.count;
    } else {
      // An NVSwitch, or a target bus id that is not a GPU of this file (dumps name each switch
      // chip): NCCL merges every NVSwitch of a node into one vertex.
      to_switch[l.gpu] += l.count;
    }
  }
  for (const auto& [gpu, n] : to_switch)
    topo_.graph.AddCable(gpu, NvSwitch(), LinkKind::kNvLink, n * NvLinkBwPerLink(gpu_sm_[gpu]) * kGBps, 0);
  for (const auto& [pair, n] : counts) {
    auto [a, b] = pair;
    double bw = n * NvLinkBwPerLink(gpu_sm_[a]) * kGBps;
    topo_.graph.AddLink(a, b, LinkKind::kNvLink, bw, 0);
    bool b_is_gpu = topo_.graph.vertices[b].kind == VertexKind::kGpu;
    // Dumps list each direction on both GPUs; add the reverse where a hand-written file omits it.
    if (!b_is_gpu || !counts.count({b, a})) topo_.graph.AddLink(b, a, LinkKind::kNvLink, bw, 0);
  }
}

void XmlReader::ConnectCpus() {
  for (size_t i = 0; i < cpus_.size(); ++i) {
    for (size_t j = i + 1; j < cpus_.size(); ++j) {
      const std::string& key = cpus_[i].second;
      double gbps = kBdwQpiGBps;
      if (key.find("AuthenticAMD") != std::string::npos) gbps = kAmdGBps;
      else if (key.rfind("ppc64", 0) == 0) gbps = kP9GBps;
      else if (key.rfind("arm64", 0) == 0 || key.rfind("aarch64", 0) == 0) gbps = kArmGBps;
      else if (key.find("GenuineIntel") != std::string::npos) {
        // Intel model ids (decimal in NCCL dumps): Skylake 85, Sapphire Rapids 143, Emerald Rapids 207.
        long model = std::strtol(key.substr(key.rfind('/') + 1).c_str(), nullptr, 0);
        gbps = model >= 207 ? kErpQpiGBps : model >= 143 ? kSrpQpiGBps : model >= 85 ? kSklQpiGBps : kBdwQpiGBps;
      }
      topo_.graph.AddCable(cpus_[i].first, cpus_[j].first, LinkKind::kCpuInterconnect, gbps * kGBps, 0);
    }
  }
}

}  // namespace

int NodeTopology::MinSm() const {
  int m = 0;
  for (int s : gpu_sm) m = (m == 0 || s < m) ? s : m;
  return m;
}

std::string DefaultGpuType(const NodeTopology& topo) {
  if (!topo.gpu_type.empty()) return topo.gpu_type;
  int sm = topo.MinSm();
  if (sm >= 90) return "H100-SXM5-80GB";
  if (sm >= 80) return "A100-SXM4-80GB";
  return "V100-SXM2-32GB";
}

double NvLinkBwPerLink(int sm) {
  if (sm >= 100) return kSm100NvLinkGBps;
  if (sm >= 90) return kSm90NvLinkGBps;
  if (sm == 86 || sm == 87 || sm == 89) return kSm86NvLinkGBps;
  if (sm >= 80) return kSm80NvLinkGBps;
  if (sm >= 70) return kSm70NvLinkGBps;
  return kSm60NvLinkGBps;
}

NodeTopology ParseNodeTopology(const std::string& xml_text, const std::string& origin) {
  pugi::xml_document doc;
  pugi::xml_parse_result ok = doc.load_string(xml_text.c_str());
  if (!ok) {
    // Report the line of the failure, which pugixml gives as a byte offset.
    long line = 1 + std::count(xml_text.begin(), xml_text.begin() + std::min<size_t>(ok.offset, xml_text.size()), '\n');
    throw UserError(origin + ": line " + std::to_string(line),
                    std::string("malformed XML: ") + ok.description());
  }
  DepthCheck depth;
  doc.traverse(depth);
  if (depth.too_deep()) {
    auto offset = static_cast<size_t>(std::max<ptrdiff_t>(depth.too_deep().offset_debug(), 0));
    long line = 1 + std::count(xml_text.begin(), xml_text.begin() + std::min(offset, xml_text.size()), '\n');
    throw UserError(origin + ": line " + std::to_string(line),
                    "elements nested deeper than " + std::to_string(kMaxXmlDepth) + " levels");
  }
  NodeTopology topo = XmlReader(origin).Read(doc);
  topo.source = origin;
  topo.name = std::filesystem::path(origin).stem().string();
  return topo;
}

NodeTopology LoadNodeTopology(const std::string& name_or_path) {
  auto path = ResolveDataFile("topos", name_or_path, ".xml");
  if (!path)
    throw UserError(name_or_path, "no such topology file or shipped topology (shipped: " +
                                      ListDataNames("topos", ".xml") + ")");
  return ParseNodeTopology(ReadTextFile(*path), *path);
}

}  // namespace proteus
