#include "topo/topo_report.h"

#include <cstdio>

#include "common/units.h"

namespace proteus {
namespace {

std::string Fmt(const char* fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a);
  return buf;
}

std::string NodeGraph(const NodeTopology& t) {
  std::string out = "  links (GB/s per direction):\n";
  for (size_t i = 0; i < t.graph.links.size(); ++i) {
    const Link& l = t.graph.links[i];
    out += "    " + t.graph.vertices[l.src].name + " -> " + t.graph.vertices[l.dst].name + "  " +
           std::string(LinkKindName(l.kind)) + " " + Fmt("%.1f", l.bandwidth / kGBps) + "\n";
  }
  return out;
}

std::string PathMatrix(const NodeTopology& t, const NodePaths& p) {
  std::string out = "  GPU-pair paths (type/bottleneck GB/s):\n        ";
  char buf[64];
  for (int j = 0; j < t.NumGpus(); ++j) { std::snprintf(buf, sizeof buf, "%-10s", ("GPU" + std::to_string(j)).c_str()); out += buf; }
  out += "\n";
  for (int i = 0; i < t.NumGpus(); ++i) {
    std::snprintf(buf, sizeof buf, "    %-6s", ("GPU" + std::to_string(i)).c_str());
    out += buf;
    for (int j = 0; j < t.NumGpus(); ++j) {
      const Path& path = p.gpu_gpu[i][j];
      std::string cell = i == j ? "X" : std::string(PathTypeName(path.type)) + "/" + Fmt("%.0f", path.bw / kGBps);
      std::snprintf(buf, sizeof buf, "%-10s", cell.c_str());
      out += buf;
    }
    out += "\n";
  }
  return out;
}

std::string NicMap(const NodeTopology& t, const NodePaths& p) {
  if (t.nics.empty()) return "  NICs: none\n";
  std::string out = "  GPU -> NIC (NCCL's local NIC; all NICs as type/GB/s):\n";
  for (int i = 0; i < t.NumGpus(); ++i) {
    int n = p.local_nic[i];
    out += "    GPU" + std::to_string(i) + " -> " + (n >= 0 ? t.graph.vertices[t.nics[n]].name : "-") + "   ";
    for (size_t k = 0; k < t.nics.size(); ++k)
      out += " nic" + std::to_string(k) + ":" + std::string(PathTypeName(p.gpu_nic[i][k].type)) + "/" +
             Fmt("%.0f", p.gpu_nic[i][k].bw / kGBps);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string FormatTopology(const Cluster& c) {
  std::string out = "cluster " + c.name + ": " + std::to_string(c.NumNodes()) + " node(s), " +
                    std::to_string(c.NumGpus()) + " GPUs\n";
  for (size_t g = 0; g < c.groups.size(); ++g) {
    const NodeGroup& ng = c.groups[g];
    const NodeTopology& t = *c.group_topology[g];
    out += "\nnode group " + ng.name + ": " + std::to_string(ng.count) + " x " + ng.gpu_type + " (" +
           std::to_string(t.NumGpus()) + " GPUs/node, sm " + std::to_string(t.MinSm()) + ", " +
           (t.has_nvswitch ? "NVSwitch" : "no NVSwitch") + ", " + std::to_string(t.nics.size()) + " NICs), topology " +
           t.source + "\n";
    out += NodeGraph(t) + PathMatrix(t, *c.group_paths[g]) + NicMap(t, *c.group_paths[g]);
  }
  out += "\nfabric: " + c.fabric.kind + ", " + c.fabric.transport + ", " +
         (c.fabric.nic_bw > 0 ? Fmt("%.0f", c.fabric.nic_bw / kGbps) + " Gb/s per NIC" : "NIC speed from the topology") +
         ", latency " + Fmt("%.1f", c.fabric.latency_s / kUs) + " us, oversubscription " +
         Fmt("%.2f", c.fabric.oversubscription) + (c.fabric.collnet ? ", CollNet (SHARP)" : "") + ", " +
         std::to_string(c.NumSwitches()) + " leaf/rail switches\n";
  return out;
}

Json TopologyJson(const Cluster& c) {
  Json doc = {{"cluster", c.name}, {"nodes", c.NumNodes()}, {"gpus", c.NumGpus()}};
  Json groups = Json::array();
  for (size_t g = 0; g < c.groups.size(); ++g) {
    const NodeTopology& t = *c.group_topology[g];
    const NodePaths& p = *c.group_paths[g];
    Json paths = Json::array(), nics = Json::array();
    for (int i = 0; i < t.NumGpus(); ++i) {
      Json row = Json::array();
      for (int j = 0; j < t.NumGpus(); ++j)
        row.push_back({{"type", std::string(PathTypeName(p.gpu_gpu[i][j].type))},
                       {"bw_gbps", i == j ? 0.0 : p.gpu_gpu[i][j].bw / kGBps}});
      paths.push_back(row);
      Json nic_row = Json::array();
      for (size_t k = 0; k < t.nics.size(); ++k)
        nic_row.push_back({{"type", std::string(PathTypeName(p.gpu_nic[i][k].type))}, {"bw_gbps", p.gpu_nic[i][k].bw / kGBps}});
      nics.push_back({{"local_nic", p.local_nic[i]}, {"paths", nic_row}});
    }
    groups.push_back({{"name", c.groups[g].name}, {"count", c.groups[g].count}, {"gpu", c.groups[g].gpu_type},
                      {"topology", t.source}, {"gpus_per_node", t.NumGpus()}, {"nvswitch", t.has_nvswitch},
                      {"gpu_paths", paths}, {"gpu_nics", nics}});
  }
  doc["node_groups"] = groups;
  doc["fabric"] = {{"kind", c.fabric.kind}, {"transport", c.fabric.transport}, {"nic_gbps", c.fabric.nic_bw / kGbps},
                   {"latency_us", c.fabric.latency_s / kUs}, {"oversubscription", c.fabric.oversubscription},
                   {"collnet", c.fabric.collnet}};
  return doc;
}

}  // namespace proteus
