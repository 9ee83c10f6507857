#include "simulator/search/metis_inputs.h"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"

namespace proteus {
namespace {

std::vector<double> NonNegativeArray(const JsonView& parent, std::string_view key) {
  JsonView arr = parent.At(key);
  if (!arr.IsArray()) parent.FailField(key, "expected an array of numbers");
  std::vector<double> out;
  for (size_t i = 0; i < arr.Size(); ++i) {
    double v = arr.At(i).AsNum();
    if (!(v >= 0) || v > 1e18) arr.At(i).Fail("must be a non-negative finite number");
    out.push_back(v);
  }
  return out;
}

double NonNegative(const JsonView& parent, std::string_view key) {
  double v = parent.Num(key);
  if (!(v >= 0) || v > 1e18) parent.FailField(key, "must be a non-negative finite number");
  return v;
}

}  // namespace

const MetisProfile* MetisProfiles::Find(const std::string& type, int tp, int bs) const {
  auto t = by_type.find(type);
  if (t == by_type.end()) return nullptr;
  auto p = t->second.find({tp, bs});
  return p == t->second.end() ? nullptr : &p->second;
}

MetisProfile ParseMetisProfile(const std::string& text, const std::string& file, int* num_layers,
                               std::vector<double>* param_bytes, double* optimizer_ms, double* batch_generator_ms) {
  Json doc = ParseJson(text, file);
  JsonView root(doc, file);
  if (!root.IsObject()) root.Fail("expected a Metis profile object");
  JsonView time = root.At("execution_time");
  JsonView memory = root.At("execution_memory");
  JsonView params = root.At("model").At("parameters");
  MetisProfile p;
  p.layer_ms = NonNegativeArray(time, "layer_compute_total_ms");
  p.layer_mem_mb = NonNegativeArray(memory, "layer_memory_total_mb");
  std::vector<double> per_layer = NonNegativeArray(params, "parameters_per_layer_bytes");
  // Metis reads the first, one transformer layer and the last entry (activation_parameter.py).
  if (p.layer_ms.size() < 3) time.FailField("layer_compute_total_ms", "needs at least 3 layers (embedding, one block, head)");
  if (p.layer_mem_mb.size() != p.layer_ms.size())
    memory.FailField("layer_memory_total_mb", "has " + std::to_string(p.layer_mem_mb.size()) + " layers, layer_compute_total_ms " +
                                                  std::to_string(p.layer_ms.size()));
  if (per_layer.size() != p.layer_ms.size())
    params.FailField("parameters_per_layer_bytes", "has " + std::to_string(per_layer.size()) + " layers, layer_compute_total_ms " +
                                                       std::to_string(p.layer_ms.size()));
  double fb = NonNegative(time, "forward_backward_time_ms");
  double sum = 0;
  for (double t : p.layer_ms) sum += t;
  p.fb_sync_ms = fb - sum;
  // Metis treats a zero (or missing) fb_sync as a missing key; a negative one is a broken profile.
  if (!(p.fb_sync_ms > 0))
    time.FailField("forward_backward_time_ms", "must exceed the sum of layer_compute_total_ms (" + std::to_string(sum) + " ms)");
  *num_layers = static_cast<int>(p.layer_ms.size());
  *param_bytes = per_layer;
  *optimizer_ms = 2 * NonNegative(time, "optimizer_time_ms");
  *batch_generator_ms = NonNegative(time, "batch_generator_time_ms");
  return p;
}

MetisProfiles ReadMetisProfiles(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw UserError(dir, "not a directory of Metis profiles");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());  // the first file gives the model part, as a sorted listing would
  static const std::regex kName(R"(DeviceType\.(\w+?)_tp(\d{1,4})_bs(\d{1,6})\.json)");
  MetisProfiles out;
  for (const auto& name : names) {
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    std::string path = (std::filesystem::path(dir) / name).string();
    int layers = 0;
    std::vector<double> params;
    double opt = 0, bg = 0;
    MetisProfile p = ParseMetisProfile(ReadTextFile(path), path, &layers, &params, &opt, &bg);
    int tp = std::stoi(m[2]), bs = std::stoi(m[3]);
    if (tp < 1 || bs < 1) throw UserError(path, "tp and bs in the file name must be at least 1");
    if (out.num_layers == 0) {
      out.num_layers = layers;
      out.param_bytes = params;
      out.optimizer_ms = opt;
      out.batch_generator_ms = bg;
    } else if (layers != out.num_layers) {
      throw UserError(path + ": execution_time.layer_compute_total_ms",
                      "has " + std::to_string(layers) + " layers, the directory's other profiles " + std::to_string(out.num_layers));
    }
    out.by_type[m[1]][{tp, bs}] = std::move(p);
  }
  if (out.by_type.empty()) throw UserError(dir, "no DeviceType.<TYPE>_tp<T>_bs<B>.json profile in the directory");
  return out;
}

int MetisCluster::TotalGpus() const {
  int n = 0;
  for (const auto& node : nodes) n += node.gpus;
  return n;
}

int MetisCluster::GpusOf(const std::string& type) const {
  int n = 0;
  for (const auto& node : nodes) n += node.type == type ? node.gpus : 0;
  return n;
}

std::vector<std::string> MetisCluster::Types() const {
  std::vector<std::string> types;
  for (const auto& node : nodes)
    if (std::find(types.begin(), types.end(), node.type) == types.end()) types.push_back(node.type);
  return types;
}

const MetisNode& MetisCluster::FirstOf(const std::string& type) const {
  for (const auto& node : nodes)
    if (node.type == type) return node;
  PROTEUS_CHECK(false, "no node of type " + type);
}

MetisCluster ParseMetisCluster(const std::string& hostfile_text, const std::string& hostfile,
                               const std::string& clusterfile_text, const std::string& clusterfile) {
  Json doc = ParseJson(clusterfile_text, clusterfile);
  JsonView root(doc, clusterfile);
  if (!root.IsObject()) root.Fail("expected an object of ip -> node description");
  MetisCluster cluster;
  std::istringstream lines(hostfile_text);
  std::string line;
  static const std::regex kLine(R"(\s*(\S+)\s+(?:slots=)?(\d{1,4})\s*)");
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::smatch m;
    std::string where = hostfile + ": line " + std::to_string(number);
    if (!std::regex_match(line, m, kLine)) throw UserError(where, "expected '<ip> slots=<gpus>'");
    MetisNode node;
    node.ip = m[1];
    node.gpus = std::stoi(m[2]);
    if (node.gpus < 1) throw UserError(where, "a node needs at least one GPU");
    if (!root.Has(node.ip)) throw UserError(clusterfile, "no entry for host '" + node.ip + "' (" + where + ")");
    JsonView entry = root.At(node.ip);
    node.type = entry.Str("instance_type");
    if (node.type.empty()) entry.FailField("instance_type", "must not be empty");
    node.intra_bandwidth = NonNegative(entry, "intra_bandwidth");
    node.inter_bandwidth = NonNegative(entry, "inter_bandwidth");
    node.memory_gb = NonNegative(entry, "memory");
    if (!(node.intra_bandwidth > 0)) entry.FailField("intra_bandwidth", "must be positive");
    if (!(node.memory_gb > 0)) entry.FailField("memory", "must be positive");
    cluster.nodes.push_back(node);
  }
  if (cluster.nodes.empty()) throw UserError(hostfile, "no hosts");
  // Metis maps rank r to node r / (GPUs of node 0) (cluster_bandwidth.py), so nodes must be alike.
  for (const auto& node : cluster.nodes)
    if (node.gpus != cluster.nodes[0].gpus)
      throw UserError(hostfile, "host '" + node.ip + "' has " + std::to_string(node.gpus) + " GPUs, the first " +
                                    std::to_string(cluster.nodes[0].gpus) + " (Metis assumes equal nodes)");
  return cluster;
}

MetisCluster ReadMetisCluster(const std::string& hostfile, const std::string& clusterfile) {
  return ParseMetisCluster(ReadTextFile(hostfile), hostfile, ReadTextFile(clusterfile), clusterfile);
}

}  // namespace proteus
