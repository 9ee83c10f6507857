#include "simulator/engine/stream_clock.h"

#include "common/error.h"

namespace proteus {

namespace {
constexpr int kCompute = static_cast<int>(StreamKind::kCompute);
constexpr uint32_t Bit(StreamKind s) { return 1u << static_cast<int>(s); }
constexpr uint32_t kComputeBit = Bit(StreamKind::kCompute);
constexpr uint32_t kCommBits =
    Bit(StreamKind::kTpComm) | Bit(StreamKind::kDpComm) | Bit(StreamKind::kPpComm) | Bit(StreamKind::kPsComm);
}  // namespace

StreamClock::StreamClock(int num_gpus) : state_(num_gpus), times_(num_gpus) {}

// Called at every task start and end, so it visits only the busy streams (a bit mask) rather than
// all of them. Each stream's sums are its own, so the order of the visit changes no digit.
void StreamClock::Advance(int gpu, double now) {
  State& st = state_[gpu];
  double dt = now - st.last_s;
  st.last_s = now;
  if (dt <= 0 || st.busy == 0) return;
  GpuTimes& t = times_[gpu];
  const bool compute_idle = (st.busy & kComputeBit) == 0;
  for (uint32_t m = st.busy; m != 0; m &= m - 1) {
    int s = __builtin_ctz(m);
    t.busy_s[s] += dt;
    if (compute_idle) t.exposed_s[s] += dt;  // compute idle: s is not the compute stream
  }
  st.active_s += dt;
  if (compute_idle && (st.busy & kCommBits) != 0) t.exposed_comm_s += dt;
}

void StreamClock::Begin(int gpu, StreamKind stream, double now) {
  Advance(gpu, now);
  State& st = state_[gpu];
  if (st.running[static_cast<int>(stream)]++ == 0) st.busy |= Bit(stream);
}

void StreamClock::End(int gpu, StreamKind stream, double now) {
  Advance(gpu, now);
  State& st = state_[gpu];
  int32_t& running = st.running[static_cast<int>(stream)];
  PROTEUS_CHECK(running > 0, "stream clock: a task ends on an idle stream");
  if (--running == 0) st.busy &= ~Bit(stream);
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
