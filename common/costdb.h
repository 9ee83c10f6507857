// The cost database (proteus.costdb/1): the one contract between proteus-profile (writes) and
// proteus-sim (reads). docs/formats.md is the authority on the JSON; this is its in-memory form.
//
//   device / software / host / date / profiler_version   where and how it was measured
//   ops[]          OpKey -> time statistics of one operator call (seconds)
//   collectives[]  CollectiveKey -> curve of (bytes, seconds) points, sizes ascending
//   interference[] slowdown of a compute class and of a collective when they co-run on one GPU
//   topology_xml   the node's NCCL topology dump (NCCL_TOPO_DUMP_FILE), verbatim
//
// Several databases can be layered: CostDb::Overlay puts a measured database over a projected one;
// entries of the upper layer win key by key (a calibration wins for its whole GPU type).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/json_file.h"
#include "common/op_key.h"

namespace proteus {

inline constexpr int kCostDbMajor = 1;

struct DeviceInfo {
  std::string name;            // "NVIDIA H200"
  int sm_count = 0;
  int cc_major = 0, cc_minor = 0;
  int64_t memory_bytes = 0;
  double sm_clock_mhz = 0;     // max SM clock
  double mem_clock_mhz = 0;
  int64_t l2_bytes = 0;
};

struct SoftwareInfo {
  std::string driver, cuda, cublas, cudnn, nccl;
};

/// Time statistics of repeated measurements, seconds.
struct TimeStats {
  double median_s = 0, p10_s = 0, p90_s = 0;
  int count = 0;
  std::string method;          // "cupti_kernel_sum" or "cuda_events"
  double wall_median_s = 0;    // CUDA-event time of the same calls (0 if not taken)
};

struct OpEntry {
  OpKey key;
  std::string status = "ok";   // "ok", "oom" (did not fit; no time), "error"
  TimeStats time;
  std::vector<std::string> kernels;  // kernel names seen, in launch order
  std::string source;          // where the time comes from when not the profiler: "trace:<file>"
};

struct CollectiveKey {
  std::string op;              // all_reduce, all_gather, reduce_scatter, alltoall, broadcast, reduce, sendrecv
  int ranks = 0, nodes = 1, ranks_per_node = 0;
  std::string algo = "default";   // default (NCCL's own choice), ring, tree, nvls, nvls_tree, collnet_direct, collnet_chain, pat
  std::string proto = "default";  // default, ll, ll128, simple
  DType dtype = DType::kBf16;
  std::string ToString() const;
  bool operator==(const CollectiveKey&) const = default;
};

struct CurvePoint {
  int64_t bytes = 0;           // message size as nccl-tests reports it (per-rank buffer)
  double time_s = 0;           // median
  double p10_s = 0, p90_s = 0;
};

struct CollectiveCurve {
  CollectiveKey key;
  std::vector<CurvePoint> points;  // ascending bytes
};

struct InterferenceEntry {
  std::string compute_class;   // gemm, attention, elementwise, norm, ... (op kind or class)
  std::string collective;      // all_reduce, ...
  double compute_slowdown = 1; // compute time co-running / alone (>= 1 normally)
  double comm_slowdown = 1;    // collective time co-running / alone
};

/// One fitted cost-model parameter (names, units and bounds belong to the simulator:
/// simulator/cost/cost_params.h; the format only carries them).
struct CalibratedParam {
  double value = 0;
  double stderr_value = 0;     // one standard error from the fit (0: not estimated)
  bool at_bound = false;       // the fit stopped at one of the parameter's bounds
};

/// Cost-model parameters fitted for one GPU type by `proteus-sim calibrate`, with where they
/// came from. A calibration applies to every estimate for that GPU that is not measured.
struct Calibration {
  std::string gpu;                                  // GPU spec name, e.g. "A100-SXM4-80GB"
  std::map<std::string, CalibratedParam> params;
  Json provenance = Json::object();                 // runs used, errors, command, date, version
};

class CostDb {
 public:
  DeviceInfo device;
  SoftwareInfo software;
  std::string host, date, profiler_version;
  std::string projected_from;  // non-empty if the numbers are projected rather than measured
  std::string topology_xml;
  std::vector<InterferenceEntry> interference;
  std::vector<Calibration> calibrations;   // at most one per GPU type

  /// The calibration for `gpu`, or null.
  const Calibration* FindCalibration(const std::string& gpu) const;

  /// Adds or replaces an op entry (same key).
  void PutOp(OpEntry entry);
  const OpEntry* FindOp(const OpKey& key) const;
  /// All ok entries of a family (same kind, dtype, phase, attrs), for interpolation.
  std::vector<const OpEntry*> Family(const OpKey& key) const;
  const std::map<std::string, OpEntry>& ops() const { return ops_; }

  /// Adds a curve or merges its points into an existing curve with the same key (new points win).
  void PutCurve(CollectiveCurve curve);
  const CollectiveCurve* FindCurve(const CollectiveKey& key) const;
  const std::vector<CollectiveCurve>& curves() const { return curves_; }

  /// Returns this database layered over `lower`: every entry of `this` wins over `lower`'s.
  CostDb Overlay(const CostDb& lower) const;

  Json ToJson() const;
  /// Parses a database; UserError naming `origin` and the field on any problem.
  static CostDb FromJson(const Json& doc, const std::string& origin);
  static CostDb Load(const std::string& path);
  /// Atomic write (temp + rename).
  void Save(const std::string& path) const;

 private:
  std::map<std::string, OpEntry> ops_;   // by OpKey::ToString()
  std::map<std::string, std::vector<std::string>> families_;  // FamilyString -> keys
  std::vector<CollectiveCurve> curves_;
};

}  // namespace proteus
