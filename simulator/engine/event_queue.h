// HTAE's clock: a binary min-heap of events ordered by (time, sequence number). The sequence number
// is the order of scheduling, so two events at the same time are handled in the order they were
// scheduled: runs repeat bit for bit. Rescheduled activities (a flow whose rate changed, a compute
// task slowed by interference) are not removed from the heap: they carry a version, and an event
// whose version is no longer current is dropped when popped.
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
    heap_.push_back(Event{time, next_seq_++, id, version, kind});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  bool Empty() const { return heap_.empty(); }
  const Event& Top() const { return heap_.front(); }
  Event Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }
  uint64_t scheduled() const { return next_seq_; }
  size_t size() const { return heap_.size(); }

 private:
  // A function object, not a function pointer, so that the heap algorithms inline the comparison
  // (the event loop spends a good part of its time here).
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace proteus
