#include "simulator/engine/stream_clock.h"

#include "common/error.h"

namespace proteus {

namespace {
constexpr int kCompute = static_cast<int>(StreamKind::kCompute);
bool IsCommStream(int s) {
  return s == static_cast<int>(StreamKind::kTpComm) || s == static_cast<int>(StreamKind::kDpComm) ||
         s == static_cast<int>(StreamKind::kPpComm);
}
}  // namespace

StreamClock::StreamClock(int num_gpus) : state_(num_gpus), times_(num_gpus) {}

void StreamClock::Advance(int gpu, double now) {
  State& st = state_[gpu];
  double dt = now - st.last_s;
  st.last_s = now;
  if (dt <= 0) return;
  GpuTimes& t = times_[gpu];
  bool compute_idle = st.running[kCompute] == 0;
  bool any = false, any_comm = false;
  for (int s = 0; s < kNumStreams; ++s) {
    if (st.running[s] == 0) continue;
    any = true;
    t.busy_s[s] += dt;
    if (s != kCompute && compute_idle) t.exposed_s[s] += dt;
    if (IsCommStream(s)) any_comm = true;
  }
  if (any) st.active_s += dt;
  if (any_comm && compute_idle) t.exposed_comm_s += dt;
}

void StreamClock::Begin(int gpu, StreamKind stream, double now) {
  Advance(gpu, now);
  ++state_[gpu].running[static_cast<int>(stream)];
}

void StreamClock::End(int gpu, StreamKind stream, double now) {
  Advance(gpu, now);
  int32_t& running = state_[gpu].running[static_cast<int>(stream)];
  PROTEUS_CHECK(running > 0, "stream clock: a task ends on an idle stream");
  --running;
}

void StreamClock::Finish(double makespan_s, std::vector<GpuTimes>* times) {
  times->resize(times_.size());
  for (size_t g = 0; g < times_.size(); ++g) {
    GpuTimes& out = (*times)[g];
    out.busy_s = times_[g].busy_s;
    out.exposed_s = times_[g].exposed_s;
    out.exposed_comm_s = times_[g].exposed_comm_s;
    out.compute_busy_s = times_[g].busy_s[kCompute];
    out.idle_s = makespan_s - state_[g].active_s;
  }
}

}  // namespace proteus
