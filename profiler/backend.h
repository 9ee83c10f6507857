// The measuring side of proteus-profile, as the CPU-only core sees it. The CUDA library implements
// it (cuda/cuda_backend.h); tests implement it with fakes, so planning, resuming and saving are
// tested without a GPU.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/costdb.h"
#include "profiler/plan.h"

namespace proteus::profiler {

/// What a probe of the node found.
struct NodeProbe {
  DeviceInfo device;         // GPU 0 (all local GPUs are required to be the same type)
  SoftwareInfo software;
  std::string host;
  int gpus = 0;              // local GPUs
  int nodes = 1;             // MPI processes, one per node
  bool leader = true;        // this process writes the database (MPI rank 0)
};

class Backend {
 public:
  virtual ~Backend() = default;
  /// Finds the GPUs; DeviceError with a clear message when there is no GPU or no driver.
  virtual NodeProbe Probe() = 0;
  /// Measures one op. Returns status "ok" with times, "oom" when it does not fit, "error" when the
  /// library has no implementation for it (the run goes on); throws DeviceError on a fault after
  /// which the GPU cannot be used (the run stops; the entry in flight is recorded as "error").
  virtual OpEntry MeasureOp(const OpKey& key) = 0;
  /// Measures one collective point; nullopt when NCCL rejects this algorithm/protocol for it.
  /// Throws DeviceError when NCCL cannot initialize at all.
  virtual std::optional<CurvePoint> MeasureCollective(const CollectivePoint& point) = 0;
  virtual InterferenceEntry MeasureInterference(const InterferencePair& pair) = 0;
  /// The NCCL topology XML of the node (NCCL_TOPO_DUMP_FILE).
  virtual std::string DumpTopology() = 0;
};

/// Creates the backend on first need (a dry run never does).
using BackendFactory = std::function<std::unique_ptr<Backend>()>;

}  // namespace proteus::profiler
