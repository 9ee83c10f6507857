#include "profiler/cuda/timer.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "common/log.h"
#include "profiler/cuda/buffers.h"
#include "profiler/cuda/check.h"

namespace proteus::profiler {
namespace {

constexpr size_t kBufferBytes = 8 << 20;
constexpr size_t kAlign = 8;

// CUPTI hands completed buffers to a callback, possibly on its own thread.
std::mutex g_mu;
std::vector<ActivityRecord> g_records;

std::string Demangle(const char* name) {
  if (!name) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string s = (status == 0 && d) ? d : name;
  std::free(d);
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

const char* CopyKindName(uint8_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "memcpy HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "memcpy DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "memcpy DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP: return "memcpy PtoP";
    default: return "memcpy";
  }
}

void CUPTIAPI BufferRequested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kAlign, kBufferBytes));
  *size = kBufferBytes;
  *max_records = 0;
}

void CUPTIAPI BufferCompleted(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  std::vector<ActivityRecord> got;
  CUpti_Activity* rec = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
      auto* k = reinterpret_cast<CUpti_ActivityKernel10*>(rec);
      got.push_back({Demangle(k->name), k->start, k->end, k->deviceId});
    } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
      auto* m = reinterpret_cast<CUpti_ActivityMemcpy6*>(rec);
      got.push_back({CopyKindName(m->copyKind), m->start, m->end, m->deviceId});
    }
  }
  std::free(buffer);
  std::lock_guard<std::mutex> lock(g_mu);
  g_records.insert(g_records.end(), got.begin(), got.end());
}

}  // namespace

CuptiCollector::CuptiCollector() {
  if (cuptiActivityRegisterCallbacks(BufferRequested, BufferCompleted) != CUPTI_SUCCESS) {
    LogWarn("CUPTI activity tracing unavailable (another profiler attached?): timing with CUDA events only");
    return;
  }
  available_ = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) == CUPTI_SUCCESS &&
               cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY) == CUPTI_SUCCESS;
  if (!available_) LogWarn("CUPTI could not enable kernel activity records: timing with CUDA events only");
}

CuptiCollector& CuptiCollector::Get() {
  static CuptiCollector c;
  return c;
}

std::vector<ActivityRecord> CuptiCollector::Drain() {
  if (!available_) return {};
  PROTEUS_CUPTI(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
  std::vector<ActivityRecord> out;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    out.swap(g_records);
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.start_ns < b.start_ns; });
  return out;
}

std::vector<std::vector<ActivityRecord>> SplitAtMarkers(const std::vector<ActivityRecord>& sorted, int device,
                                                        const std::string& exclude_prefix) {
  std::vector<std::vector<ActivityRecord>> calls;
  bool open = false;
  for (const auto& r : sorted) {
    if (int(r.device) != device) continue;
    if (r.name.find(kMarkerKernelName) != std::string::npos) {
      calls.emplace_back();
      open = true;
      continue;
    }
    if (!exclude_prefix.empty() && r.name.rfind(exclude_prefix, 0) == 0) continue;
    if (open) calls.back().push_back(r);
  }
  if (!calls.empty() && calls.back().empty()) calls.pop_back();  // after the closing marker
  return calls;
}

CallTimes TimeCalls(const std::function<void(int)>& call, cudaStream_t stream, int device,
                    const TimingPolicy& policy, const std::string& exclude_prefix) {
  CuptiCollector& cupti = CuptiCollector::Get();
  cudaEvent_t a, b;
  PROTEUS_CUDA(cudaEventCreate(&a));
  PROTEUS_CUDA(cudaEventCreate(&b));
  // First call: library plans and lazy module loading happen here; it only sizes the loop.
  PROTEUS_CUDA(cudaEventRecord(a, stream));
  call(0);
  PROTEUS_CUDA(cudaEventRecord(b, stream));
  PROTEUS_CUDA(cudaEventSynchronize(b));
  float ms = 0;
  PROTEUS_CUDA(cudaEventElapsedTime(&ms, a, b));
  double first_s = ms * 1e-3;
  for (int i = 0, n = policy.WarmupCalls(first_s); i < n; ++i) call(i + 1);
  PROTEUS_CUDA(cudaStreamSynchronize(stream));
  cupti.Drain();  // forget the warm-up

  int reps = policy.TimedCalls(first_s);
  std::vector<cudaEvent_t> ev(2 * reps);
  for (auto& e : ev) PROTEUS_CUDA(cudaEventCreate(&e));
  for (int i = 0; i < reps; ++i) {
    LaunchMarker(stream);
    PROTEUS_CUDA(cudaEventRecord(ev[2 * i], stream));
    call(i);
    PROTEUS_CUDA(cudaEventRecord(ev[2 * i + 1], stream));
  }
  LaunchMarker(stream);
  PROTEUS_CUDA(cudaStreamSynchronize(stream));

  CallTimes t;
  for (int i = 0; i < reps; ++i) {
    PROTEUS_CUDA(cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]));
    t.wall_s.push_back(ms * 1e-3);
  }
  for (auto& e : ev) cudaEventDestroy(e);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  auto calls = SplitAtMarkers(cupti.Drain(), device, exclude_prefix);
  if (int(calls.size()) == reps) {
    for (const auto& c : calls) {
      double s = 0;
      for (const auto& r : c) s += double(r.end_ns - r.start_ns) * 1e-9;
      t.kernel_s.push_back(s);
    }
    for (const auto& r : calls.front())
      if (std::find(t.kernels.begin(), t.kernels.end(), r.name) == t.kernels.end()) t.kernels.push_back(r.name);
  } else if (cupti.available()) {
    LogDebug("CUPTI records did not split into " + std::to_string(reps) + " calls (got " +
             std::to_string(calls.size()) + "); using CUDA events for this op");
  }
  return t;
}

TimeStats StatsOf(const CallTimes& t) {
  if (!t.kernel_s.empty()) return Summarize(t.kernel_s, t.wall_s, "cupti_kernel_sum");
  return Summarize(t.wall_s, t.wall_s, "cuda_events");
}

}  // namespace proteus::profiler
