// The event queue against a plain reference: events come out in (time, scheduling order), whatever
// the heap's shape, including ties in time and pops interleaved with pushes.
#include "simulator/engine/event_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace proteus {
namespace {

struct Ref {
  double time;
  uint64_t seq;
  int32_t id;
};

TEST(EventQueue, PopsInTimeThenSchedulingOrder) {
  EventQueue q;
  q.Push(2.0, EventKind::kTaskEnd, 10, 0);
  q.Push(1.0, EventKind::kFlowEnd, 11, 3);
  q.Push(2.0, EventKind::kCommLocalEnd, 12, 0);  // ties with id 10: scheduled later, so after it
  q.Push(0.5, EventKind::kCommLatencyEnd, 13, 0);
  std::vector<int32_t> ids;
  while (!q.Empty()) ids.push_back(q.Pop().id);
  EXPECT_EQ(ids, (std::vector<int32_t>{13, 11, 10, 12}));
  EXPECT_EQ(q.scheduled(), 4u);
}

TEST(EventQueue, MatchesASortedReferenceUnderInterleavedPushesAndPops) {
  std::mt19937 rng(7);
  // Times on a coarse grid so that many events tie and the sequence number decides.
  std::uniform_int_distribution<int> grid(0, 40), action(0, 2);
  EventQueue q;
  std::vector<Ref> ref;
  uint64_t seq = 0;
  double now = 0;
  for (int step = 0; step < 20000; ++step) {
    if (ref.empty() || action(rng) != 0) {
      double t = now + grid(rng) * 0.25;
      q.Push(t, EventKind::kTaskEnd, step, 0);
      ref.push_back(Ref{t, seq++, step});
      continue;
    }
    auto first = std::min_element(ref.begin(), ref.end(), [](const Ref& a, const Ref& b) {
      return a.time != b.time ? a.time < b.time : a.seq < b.seq;
    });
    ASSERT_EQ(q.size(), ref.size());
    Event e = q.Pop();
    ASSERT_EQ(e.id, first->id) << "at step " << step;
    ASSERT_EQ(e.time, first->time);
    ASSERT_EQ(e.seq, first->seq);
    now = e.time;
    ref.erase(first);
  }
}

}  // namespace
}  // namespace proteus
