#include "simulator/calibrate/trace_summary.h"

#include <algorithm>
#include <utility>

namespace proteus {
namespace {

using Intervals = std::vector<std::pair<double, double>>;

Intervals Union(Intervals v) {
  std::sort(v.begin(), v.end());
  Intervals out;
  for (const auto& iv : v) {
    if (!out.empty() && iv.first <= out.back().second) out.back().second = std::max(out.back().second, iv.second);
    else out.push_back(iv);
  }
  return out;
}

double Length(const Intervals& merged) {
  double s = 0;
  for (const auto& [a, b] : merged) s += b - a;
  return s;
}

}  // namespace

IterationSummary SummarizeIteration(int64_t step, double start, double time, const std::vector<TimedActivity>& activities) {
  IterationSummary s;
  s.step = step;
  s.start_s = start;
  s.time_s = time;
  Intervals compute, comm, copy;
  for (const auto& a : activities)
    (a.category == KernelCategory::kCompute ? compute : a.category == KernelCategory::kCommunication ? comm : copy)
        .emplace_back(a.start, a.end);
  Intervals busy = compute;
  busy.insert(busy.end(), comm.begin(), comm.end());
  double compute_s = Length(Union(compute));
  double compute_or_comm = Length(Union(busy));
  busy.insert(busy.end(), copy.begin(), copy.end());
  s.compute_s = compute_s;
  s.communication_s = Length(Union(comm));
  s.exposed_communication_s = compute_or_comm - compute_s;  // |comm \ compute|
  s.copy_s = Length(Union(copy));
  s.idle_s = std::max(0.0, time - Length(Union(busy)));
  s.kernels.total = static_cast<int64_t>(activities.size());
  s.kernels.communication = static_cast<int64_t>(comm.size());
  s.kernels.copy = static_cast<int64_t>(copy.size());
  return s;
}

IterationSummary MeanSummary(const std::vector<IterationSummary>& its) {
  IterationSummary m;
  if (its.empty()) return m;
  double n = static_cast<double>(its.size());
  m.start_s = its.front().start_s;
  for (const auto& s : its) {
    m.time_s += s.time_s / n;
    m.compute_s += s.compute_s / n;
    m.communication_s += s.communication_s / n;
    m.exposed_communication_s += s.exposed_communication_s / n;
    m.copy_s += s.copy_s / n;
    m.idle_s += s.idle_s / n;
    m.kernels.total += s.kernels.total;
    m.kernels.mapped += s.kernels.mapped;
    m.kernels.unmapped += s.kernels.unmapped;
    m.kernels.communication += s.kernels.communication;
    m.kernels.copy += s.kernels.copy;
  }
  return m;
}

}  // namespace proteus
