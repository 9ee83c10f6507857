// Metis' planner inputs (SamsungLabs/Metis), read as Metis reads them: per-device-type profile JSONs
// named DeviceType.<TYPE>_tp<T>_bs<B>.json, a hostfile (one "<ip> slots=<gpus>" line per node, the
// node order of the cluster) and a clusterfile (per ip: instance_type, inter_bandwidth,
// intra_bandwidth, memory in GB).
//
// A profile holds, for one (type, tp, micro-batch size), each layer's forward + backward time
// (layer_compute_total_ms), each layer's memory (layer_memory_total_mb) and forward_backward_time_ms;
// fb_sync is forward_backward_time_ms minus the layer times, as Metis' data_loader.py derives it.
// The model part (parameters per layer, optimizer and batch-generator times) is taken from the
// first file in name order; Metis doubles optimizer_time_ms on load and so do we.
//
// Every malformed file throws UserError naming the file and the field (exit 2).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace proteus {

/// One profile file: one device type at one (tp, micro-batch size).
struct MetisProfile {
  std::vector<double> layer_ms;      ///< forward + backward time of each layer, ms
  std::vector<double> layer_mem_mb;  ///< memory of each layer, MB
  double fb_sync_ms = 0;             ///< forward_backward_time_ms - sum(layer_ms)
};

/// All profiles of one directory.
struct MetisProfiles {
  int num_layers = 0;
  std::vector<double> param_bytes;  ///< parameters_per_layer_bytes (first file)
  double optimizer_ms = 0;          ///< 2 x optimizer_time_ms, as Metis loads it
  double batch_generator_ms = 0;
  /// type -> (tp, bs) -> profile.
  std::map<std::string, std::map<std::pair<int, int>, MetisProfile>> by_type;

  /// nullptr when the (type, tp, bs) file was not profiled (Metis' KeyError).
  const MetisProfile* Find(const std::string& type, int tp, int bs) const;
};

/// One node of the hostfile with its clusterfile entry.
struct MetisNode {
  std::string ip, type;
  int gpus = 0;
  double intra_bandwidth = 0, inter_bandwidth = 0;  ///< as written (Metis multiplies by 2^20)
  double memory_gb = 0;
};

struct MetisCluster {
  std::vector<MetisNode> nodes;  ///< hostfile order
  int TotalGpus() const;
  int GpusOf(const std::string& type) const;
  /// Device types in order of first appearance in the hostfile.
  std::vector<std::string> Types() const;
  /// The first node of `type` (Metis takes bandwidth and memory from it).
  const MetisNode& FirstOf(const std::string& type) const;
};

/// Parses one profile file's text; `file` names it in errors.
MetisProfile ParseMetisProfile(const std::string& text, const std::string& file, int* num_layers,
                               std::vector<double>* param_bytes, double* optimizer_ms, double* batch_generator_ms);
/// Reads every DeviceType.*_tp*_bs*.json of `dir` (other files are ignored; none matching is an error).
MetisProfiles ReadMetisProfiles(const std::string& dir);
/// Parses a hostfile and a clusterfile (texts), naming the files in errors.
MetisCluster ParseMetisCluster(const std::string& hostfile_text, const std::string& hostfile,
                               const std::string& clusterfile_text, const std::string& clusterfile);
MetisCluster ReadMetisCluster(const std::string& hostfile, const std::string& clusterfile);

}  // namespace proteus
