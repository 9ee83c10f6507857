#include "profiler/cuda/cuda_backend.h"

#include "common/log.h"
#include "profiler/cuda/bootstrap.h"
#include "profiler/cuda/check.h"
#include "profiler/cuda/interference.h"
#include "profiler/cuda/nccl_bench.h"
#include "profiler/cuda/node_info.h"
#include "profiler/cuda/ops.h"
#include "profiler/cuda/timer.h"
#include "profiler/op_semantics.h"
#include "profiler/stats.h"

namespace proteus::profiler {
namespace {

OpEntry Measure(const OpKey& key, OpContext& ctx) {
  OpEntry e;
  e.key = key;
  PROTEUS_CUDA(cudaSetDevice(ctx.device));
  try {
    size_t free_b = 0, total_b = 0;
    PROTEUS_CUDA(cudaMemGetInfo(&free_b, &total_b));
    int sets = RotationSets(FootprintOf(key), ctx.prop.l2CacheSize, static_cast<int64_t>(free_b));
    std::unique_ptr<OpInstance> op = CreateOp(key, ctx, sets);
    PROTEUS_CUDA(cudaStreamSynchronize(ctx.stream));
    CallTimes t = TimeCalls([&](int i) { op->Run(i); }, ctx.stream, ctx.device, OpPolicy());
    e.time = StatsOf(t);
    e.kernels = t.kernels;
  } catch (const OomError& err) {
    LogDebug(key.ToString() + ": out of memory: " + err.what());
    e.status = "oom";
  } catch (const UnsupportedError& err) {
    LogWarn(key.ToString() + ": not measured: " + err.what());
    e.status = "error";
    e.kernels = {std::string("(error) ") + err.what()};
  }
  // A fault inside the op's kernels surfaces here (sticky): the run ends.
  PROTEUS_CUDA(cudaDeviceSynchronize());
  return e;
}

class CudaBackend : public Backend {
 public:
  CudaBackend(int* argc, char*** argv) : boot_(MakeBootstrap(argc, argv)) {}

  NodeProbe Probe() override {
    probe_ = ProbeNode(*boot_);
    return probe_;
  }
  OpEntry MeasureOp(const OpKey& key) override { return Measure(key, Ctx()); }
  std::optional<CurvePoint> MeasureCollective(const CollectivePoint& p) override {
    return Nccl().Measure(p, CollectivePolicy());
  }
  InterferenceEntry MeasureInterference(const InterferencePair& pair) override {
    return MeasureInterferencePair(pair, Ctx(), Nccl());
  }
  std::string DumpTopology() override { return DumpNcclTopology(probe_.gpus); }

 private:
  OpContext& Ctx() {
    if (!ctx_) ctx_ = std::make_unique<OpContext>(0);
    return *ctx_;
  }
  NcclBench& Nccl() {
    if (!nccl_) nccl_ = std::make_unique<NcclBench>(*boot_, probe_.gpus);
    return *nccl_;
  }

  std::unique_ptr<Bootstrap> boot_;
  NodeProbe probe_;
  std::unique_ptr<OpContext> ctx_;
  std::unique_ptr<NcclBench> nccl_;
};

}  // namespace

std::unique_ptr<Backend> MakeCudaBackend(int* argc, char*** argv) { return std::make_unique<CudaBackend>(argc, argv); }

OpEntry MeasureOpOnDevice(const OpKey& key, int device) {
  OpContext ctx(device);
  return Measure(key, ctx);
}

}  // namespace proteus::profiler
