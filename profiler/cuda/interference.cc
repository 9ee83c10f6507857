#include "profiler/cuda/interference.h"

#include <algorithm>
#include <cmath>

#include "profiler/cuda/check.h"
#include "profiler/cuda/timer.h"

namespace proteus::profiler {
namespace {

constexpr double kCommSpanS = 0.15, kComputeSpanS = 0.10;

int CallsFor(double span_s, double call_s, int lo, int hi) {
  return std::clamp(static_cast<int>(std::ceil(span_s / std::max(call_s, 1e-6))), lo, hi);
}

}  // namespace

InterferenceEntry MeasureInterferencePair(const InterferencePair& pair, OpContext& ctx, NcclBench& nccl) {
  PROTEUS_CUDA(cudaSetDevice(ctx.device));
  auto op = CreateOp(pair.compute, ctx, 2);
  CallTimes alone = TimeCalls([&](int i) { op->Run(i); }, ctx.stream, ctx.device, OpPolicy());
  double compute_alone = StatsOf(alone).median_s;
  std::vector<double> comm_alone_t = nccl.Run(pair.comm, pair.comm_bytes, 10);
  double comm_alone = Quantile(comm_alone_t, 0.5);

  int comm_calls = CallsFor(kCommSpanS, comm_alone, 5, 400);
  int compute_calls = CallsFor(kComputeSpanS, compute_alone, 5, 2000);
  int per_comm = std::max(1, compute_calls / std::max(1, comm_calls - 3));
  CuptiCollector::Get().Drain();
  int launched = 0;
  std::vector<cudaEvent_t> ev;
  auto between = [&](int i) {
    if (i < 1) return;  // let the collective start first
    PROTEUS_CUDA(cudaSetDevice(ctx.device));
    for (int j = 0; j < per_comm && launched < compute_calls; ++j, ++launched) {
      LaunchMarker(ctx.stream);
      ev.emplace_back();
      ev.emplace_back();
      PROTEUS_CUDA(cudaEventCreate(&ev[ev.size() - 2]));
      PROTEUS_CUDA(cudaEventCreate(&ev.back()));
      PROTEUS_CUDA(cudaEventRecord(ev[ev.size() - 2], ctx.stream));
      op->Run(launched);
      PROTEUS_CUDA(cudaEventRecord(ev.back(), ctx.stream));
    }
    if (launched == compute_calls) { LaunchMarker(ctx.stream); ++launched; }
  };
  std::vector<double> comm_co = nccl.Run(pair.comm, pair.comm_bytes, comm_calls, between);
  PROTEUS_CUDA(cudaSetDevice(ctx.device));
  PROTEUS_CUDA(cudaStreamSynchronize(ctx.stream));
  std::vector<double> wall;
  for (size_t i = 0; i + 1 < ev.size(); i += 2) {
    float ms = 0;
    PROTEUS_CUDA(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]));
    wall.push_back(ms * 1e-3);
  }
  for (auto e : ev) cudaEventDestroy(e);
  std::vector<double> kern;
  for (const auto& call : SplitAtMarkers(CuptiCollector::Get().Drain(), ctx.device, "nccl")) {
    double s = 0;
    for (const auto& r : call) s += double(r.end_ns - r.start_ns) * 1e-9;
    kern.push_back(s);
  }
  bool cupti_ok = !alone.kernel_s.empty() && kern.size() == wall.size();
  double compute_co = Quantile(cupti_ok ? kern : wall, 0.5);
  double compute_base = cupti_ok ? compute_alone : Quantile(alone.wall_s, 0.5);
  // Only the middle of the collective loop overlaps compute for sure.
  std::vector<double> mid(comm_co.begin() + std::min<size_t>(2, comm_co.size() - 1), comm_co.end());
  InterferenceEntry e;
  e.compute_class = pair.compute_class;
  e.collective = pair.comm.op;
  e.compute_slowdown = compute_base > 0 ? compute_co / compute_base : 1;
  e.comm_slowdown = comm_alone > 0 ? Quantile(mid, 0.5) / comm_alone : 1;
  return e;
}

}  // namespace proteus::profiler
