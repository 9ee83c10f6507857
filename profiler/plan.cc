#include "profiler/plan.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "common/units.h"
#include "profiler/canonical.h"
#include "profiler/op_semantics.h"
#include "profiler/stats.h"
#include "profiler/sweep.h"

namespace proteus::profiler {
namespace {

constexpr double kSetupS = 0.004;           // allocation, library plan/heuristic, RNG fill, CUPTI flush, free, journal
constexpr double kFillBw = 1e12;            // device RNG fill, bytes/s (a fraction of HBM)
constexpr double kPerCallOverheadS = 6e-6;  // marker kernel + two events per timed call
constexpr double kCommInitBaseS = 2.0;      // ncclCommInitAll on 8 GPUs: topology, proxies, NVLS buffers (seconds in practice)
constexpr double kCommInitPerRankS = 0.1;
constexpr double kInterferenceCorunS = 0.25; // one co-running pair: both loops, ~0.1 s each + sync
constexpr double kTopologyS = 2.0;           // one communicator over all GPUs + the dump

bool IsP2p(const std::string& op) { return op == "alltoall" || op == "sendrecv"; }

// Data each rank moves per `bytes` of nccl-tests size (the algorithm bandwidth factor).
double AlgbwFactor(const std::string& op, int n) {
  double f = double(n - 1) / n;
  if (op == "all_reduce") return 2 * f;
  if (op == "all_gather" || op == "reduce_scatter" || op == "alltoall") return f;
  return 1;  // broadcast, sendrecv
}

std::vector<int> GroupSizes(int gpus) {
  std::vector<int> g;
  for (int n = 2; n <= gpus; n *= 2) g.push_back(n);
  if (gpus >= 2 && (g.empty() || g.back() != gpus)) g.push_back(gpus);
  return g;
}

std::vector<int64_t> SizeGrid(int64_t lo, int64_t hi, int64_t step) {
  std::vector<int64_t> v;
  for (int64_t b = lo; b <= hi; b *= step) v.push_back(b);
  if (!v.empty() && v.back() != hi && hi > lo) v.push_back(hi);
  return v;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> AlgoProtoCandidates(const std::string& op,
                                                                     const NodeDesc& node) {
  std::vector<std::pair<std::string, std::string>> out;
  if (IsP2p(op)) return out;
  const std::vector<std::string> protos = {"ll", "ll128", "simple"};
  for (const auto& p : protos) out.push_back({"ring", p});
  bool nvswitch_era = node.device.cc_major >= 9 && node.gpus >= 4;
  if (op == "all_reduce") {
    for (const auto& p : protos) out.push_back({"tree", p});
    if (nvswitch_era) out.push_back({"nvls", "simple"});
    if (nvswitch_era && node.nodes > 1) out.push_back({"nvls_tree", "simple"});
    if (node.nodes > 1) {
      out.push_back({"collnet_direct", "simple"});
      out.push_back({"collnet_chain", "simple"});
    }
  }
  if (op == "all_gather" || op == "reduce_scatter") {
    if (nvswitch_era) out.push_back({"nvls", "simple"});
    if (node.nodes > 1) out.push_back({"pat", "simple"});
  }
  return out;
}

std::vector<CollectivePoint> PlanCollectives(const NodeDesc& node, const CollectiveOptions& opt) {
  std::vector<CollectivePoint> pts;
  int total = node.gpus * node.nodes;
  std::vector<int> sizes = node.nodes > 1 ? std::vector<int>{total} : GroupSizes(node.gpus);
  for (int n : sizes) {
    int rpn = node.nodes > 1 ? node.gpus : n;
    // Group by communicator configuration (algo, proto) so each is initialized once.
    std::vector<std::pair<std::string, std::string>> configs = {{"default", "default"}};
    if (opt.all_algos) {
      std::set<std::pair<std::string, std::string>> all;
      for (const auto& op : opt.ops)
        for (const auto& c : AlgoProtoCandidates(op, node)) all.insert(c);
      configs.insert(configs.end(), all.begin(), all.end());
    }
    for (const auto& [algo, proto] : configs) {
      for (const auto& op : opt.ops) {
        if (algo != "default") {
          auto c = AlgoProtoCandidates(op, node);
          if (std::find(c.begin(), c.end(), std::make_pair(algo, proto)) == c.end()) continue;
        }
        CollectiveKey key{op, n, node.nodes, rpn, algo, proto, opt.dtype};
        int64_t step = algo == "default" ? 2 : 4;
        for (int64_t b : SizeGrid(opt.min_bytes, opt.max_bytes, step)) pts.push_back({key, b});
      }
    }
  }
  return pts;
}

std::vector<InterferencePair> PlanInterference(const NodeDesc& node) {
  std::vector<InterferencePair> out;
  if (node.gpus < 2) return out;
  const DType bf = DType::kBf16;
  std::vector<OpKey> compute = {
      MakeKey("gemm", bf, Phase::kFwd, {{"m", 8192}, {"n", 8192}, {"k", 8192}}),
      MakeKey("attention", bf, Phase::kFwd, {{"batch", 1}, {"heads", 32}, {"kv_heads", 8}, {"seq_q", 4096},
                                             {"seq_kv", 4096}, {"head_dim", 128}}, {{"causal", "1"}}),
      MakeKey("layernorm", bf, Phase::kFwd, {{"rows", 16384}, {"cols", 8192}}),
      MakeKey("add", bf, Phase::kFwd, {{"elements", int64_t{1} << 28}}),
  };
  for (const auto& c : compute)
    for (const char* op : {"all_reduce", "all_gather", "reduce_scatter", "alltoall"})
      out.push_back({OpClass(c.kind), c, CollectiveKey{op, node.gpus, 1, node.gpus, "default", "default", bf},
                     256 * kMiB});
  return out;
}

double EstimateOpMeasurementSeconds(const OpKey& key, const DevicePreset& dev) {
  double t = EstimateCallSeconds(key, dev);
  int64_t set = FootprintOf(key);
  int sets = RotationSets(set, dev.l2_bytes, dev.memory_bytes);
  double setup = kSetupS + double(set) * sets / kFillBw;
  return setup + OpPolicy().TotalCalls(t) * (t + kPerCallOverheadS);
}

double EstimateCollectiveCallSeconds(const CollectivePoint& p, const DevicePreset& dev) {
  const std::string& proto = p.key.proto;
  double lat = proto == "ll" ? 5e-6 : proto == "ll128" ? 8e-6 : proto == "simple" ? 12e-6 : 8e-6;
  double eff = proto == "ll" ? 0.3 : proto == "ll128" ? 0.85 : 0.8;
  if (p.key.algo == "nvls") eff = 1.0;
  double bw = (dev.nvlink_bw > 0 ? dev.nvlink_bw : dev.pcie_bw) * eff;
  if (p.key.nodes > 1) bw = std::min(bw, 45e9 * eff);  // one 400 Gb/s NIC per GPU
  return lat + double(p.bytes) * AlgbwFactor(p.key.op, p.key.ranks) / bw;
}

PlanEstimate EstimatePlan(const Plan& plan, const NodeDesc& node) {
  PlanEstimate e;
  for (const auto& k : plan.ops) e.ops_s += EstimateOpMeasurementSeconds(k, node.device);
  std::set<std::tuple<int, std::string, std::string>> comms;
  TimingPolicy cp = CollectivePolicy();
  for (const auto& p : plan.collectives) {
    if (comms.insert({p.key.ranks, p.key.algo, p.key.proto}).second)
      e.collectives_s += kCommInitBaseS + kCommInitPerRankS * p.key.ranks;
    double t = EstimateCollectiveCallSeconds(p, node.device);
    e.collectives_s += cp.TotalCalls(t) * t;
  }
  if (!plan.interference.empty()) {
    std::set<std::string> computes, colls;
    for (const auto& i : plan.interference) {
      computes.insert(i.compute.ToString());
      colls.insert(i.comm.op);
    }
    e.interference_s = kCommInitBaseS + kCommInitPerRankS * node.gpus + kInterferenceCorunS * plan.interference.size();
    e.interference_s += 0.05 * computes.size() + 0.1 * colls.size();
  }
  if (plan.topology) e.topology_s = kTopologyS;
  return e;
}

void PrintPlan(std::ostream& os, const Plan& plan, const NodeDesc& node, bool list_keys) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "plan for %s (cc %d.%d, %d GPU%s x %d node%s)\n",
                node.device.marketing_name.c_str(), node.device.cc_major, node.device.cc_minor, node.gpus,
                node.gpus == 1 ? "" : "s", node.nodes, node.nodes == 1 ? "" : "s");
  os << buf;
  // Ops: count and estimated time per (kind, dtype, phase), in a stable order.
  std::map<std::string, std::pair<int, double>> by_family;
  for (const auto& k : plan.ops) {
    auto& [n, s] = by_family[k.kind + " " + std::string(DTypeName(k.dtype)) + " " + std::string(PhaseName(k.phase))];
    ++n;
    s += EstimateOpMeasurementSeconds(k, node.device);
  }
  os << "ops: " << plan.ops.size() << " keys\n";
  for (const auto& [fam, v] : by_family) {
    std::snprintf(buf, sizeof buf, "  %-32s %6d keys  %9s\n", fam.c_str(), v.first, FormatSeconds(v.second).c_str());
    os << buf;
  }
  std::map<std::string, int> by_curve;
  for (const auto& p : plan.collectives) by_curve[p.key.ToString()]++;
  os << "collectives: " << by_curve.size() << " curves, " << plan.collectives.size() << " points\n";
  for (const auto& [curve, n] : by_curve) os << "  " << curve << "  " << n << " sizes\n";
  os << "interference: " << plan.interference.size() << " pairs\n";
  for (const auto& i : plan.interference)
    os << "  " << i.compute_class << " (" << i.compute.ToString() << ") x " << i.comm.op << " "
       << FormatBytes(i.comm_bytes) << "\n";
  os << "topology: " << (plan.topology ? "NCCL topology dump, GPU properties, versions" : "no") << "\n";
  if (list_keys)
    for (const auto& k : plan.ops) os << "  key " << k.ToString() << "\n";
  PlanEstimate e = EstimatePlan(plan, node);
  std::snprintf(buf, sizeof buf,
                "estimated duration: %s (ops %s, collectives %s, interference %s, topology %s)\n",
                FormatSeconds(e.total()).c_str(), FormatSeconds(e.ops_s).c_str(),
                FormatSeconds(e.collectives_s).c_str(), FormatSeconds(e.interference_s).c_str(),
                FormatSeconds(e.topology_s).c_str());
  os << buf;
}

}  // namespace proteus::profiler
