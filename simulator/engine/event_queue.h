// HTAE's clock: a min-heap of events ordered by (time, sequence number). The sequence number
// is the order of scheduling, so two events at the same time are handled in the order they were
// scheduled: runs repeat bit for bit. Rescheduled activities (a flow whose rate changed, a compute
// task slowed by interference) are not removed from the heap: they carry a version, and an event
// whose version is no longer current is dropped when popped.
//
// The heap is 4-ary (children of slot i are 4i+1 .. 4i+4) and sifts a hole rather than swapping:
// the queue is small (tens of events: a few per simulated GPU and stream) and popped once per
// event, so half the depth of a binary heap is most of its cost. The order is the same total order
// (time, seq), so runs are the same to the last bit whatever the heap's shape.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace proteus {

enum class EventKind : uint8_t {
  kTaskEnd,         // a compute or memcpy task finishes (id: TaskId)
  kCommLatencyEnd,  // a comm's latency has elapsed; its flows start (id: CommId)
  kCommLocalEnd,    // a comm without flows finishes its transfer time (id: CommId)
  kFlowEnd,         // a flow has carried its bytes (id: flow slot)
};

struct Event {
  double time = 0;       // seconds
  uint64_t seq = 0;      // scheduling order, breaks ties
  int32_t id = 0;
  uint32_t version = 0;  // compared with the activity's current version when popped
  EventKind kind = EventKind::kTaskEnd;
};

class EventQueue {
 public:
  void Reserve(size_t n) { heap_.reserve(n); }
  void Push(double time, EventKind kind, int32_t id, uint32_t version) {
    heap_.emplace_back();
    SiftUp(heap_.size() - 1, Event{time, next_seq_++, id, version, kind});
  }
  bool Empty() const { return heap_.empty(); }
  const Event& Top() const { return heap_.front(); }
  Event Pop() {
    Event top = heap_.front();
    Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(last);
    return top;
  }
  uint64_t scheduled() const { return next_seq_; }
  size_t size() const { return heap_.size(); }

 private:
  static constexpr size_t kArity = 4;
  static bool Earlier(const Event& a, const Event& b) {
    return a.time != b.time ? a.time < b.time : a.seq < b.seq;
  }
  // Moves the hole at `i` up until `e` fits there.
  void SiftUp(size_t i, const Event& e) {
    while (i > 0) {
      size_t parent = (i - 1) / kArity;
      if (!Earlier(e, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  // Fills the hole at the root with `e`, moving the earliest child up while it precedes `e`.
  void SiftDown(const Event& e) {
    const size_t n = heap_.size();
    size_t i = 0;
    while (true) {
      size_t first = kArity * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t end = std::min(first + kArity, n);
      for (size_t c = first + 1; c < end; ++c)
        if (Earlier(heap_[c], heap_[best])) best = c;
      if (!Earlier(heap_[best], e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace proteus
