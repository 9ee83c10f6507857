// A backend without a GPU for the runner and CLI tests: deterministic times (1 us per 1e6 flop-ish
// unit of the key's string length), configurable OOM, library errors, faults and rejections.
#pragma once

#include <set>
#include <string>

#include "common/error.h"
#include "profiler/backend.h"

namespace proteus::profiler {

class FakeBackend : public Backend {
 public:
  std::set<std::string> oom, unsupported, fault;  // op keys (ToString) that behave so
  std::set<std::string> rejected_algos;           // "ring/ll" etc.
  std::vector<std::string> measured;              // op keys in the order measured
  int collective_calls = 0;
  bool no_gpu = false;

  NodeProbe Probe() override {
    if (no_gpu) throw DeviceError("no CUDA GPU found on this node (cudaGetDeviceCount returned 0)");
    NodeProbe p;
    p.device.name = "NVIDIA H100 80GB HBM3";
    p.device.cc_major = 9;
    p.device.sm_count = 132;
    p.device.memory_bytes = int64_t{80} << 30;
    p.device.l2_bytes = 50 << 20;
    p.software.driver = "550.54.15";
    p.host = "node0";
    p.gpus = 2;
    return p;
  }
  OpEntry MeasureOp(const OpKey& key) override {
    std::string k = key.ToString();
    if (fault.count(k)) throw DeviceError("cudaErrorIllegalAddress");
    measured.push_back(k);
    OpEntry e;
    e.key = key;
    if (oom.count(k)) e.status = "oom";
    else if (unsupported.count(k)) e.status = "error";
    else {
      e.time.median_s = 1e-6 * double(k.size());
      e.time.p10_s = e.time.median_s * 0.9;
      e.time.p90_s = e.time.median_s * 1.1;
      e.time.count = 10;
      e.time.method = "cupti_kernel_sum";
      e.kernels = {"fake_kernel"};
    }
    return e;
  }
  std::optional<CurvePoint> MeasureCollective(const CollectivePoint& p) override {
    ++collective_calls;
    if (rejected_algos.count(p.key.algo + "/" + p.key.proto)) return std::nullopt;
    double t = 1e-5 + double(p.bytes) / 1e11;
    return CurvePoint{p.bytes, t, t, t};
  }
  InterferenceEntry MeasureInterference(const InterferencePair& pair) override {
    return {pair.compute_class, pair.comm.op, 1.1, 1.2};
  }
  std::string DumpTopology() override { return "<system version=\"1\"></system>"; }
};

}  // namespace proteus::profiler
