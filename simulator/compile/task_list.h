// TaskList: the member tasks of one Comm, stored inline when there are at most two.
//
// Why not std::vector: a compiled graph holds one Comm per collective instance (132k on the
// 1,024-GPU GPT-3 run with every overlap on), and under symmetry nearly all of them have one member
// (a collective of a mirrored group) or two (a send and its receive). A vector allocates each list
// on the heap: 132k allocations while compiling, as many frees when the graph goes, and a cache
// miss per comm in the engine's rendezvous. Inline storage removes all three; lists of more
// members (full simulation) move to the heap as a vector would.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "common/error.h"

namespace proteus {

class TaskList {
 public:
  using value_type = int32_t;
  using iterator = int32_t*;
  using const_iterator = const int32_t*;

  TaskList() = default;
  TaskList(std::initializer_list<int32_t> ids) {
    for (int32_t id : ids) push_back(id);
  }
  TaskList(const TaskList& o) { Assign(o); }
  TaskList(TaskList&& o) noexcept { Steal(o); }
  TaskList& operator=(const TaskList& o) {
    if (this != &o) {
      clear();
      Assign(o);
    }
    return *this;
  }
  TaskList& operator=(TaskList&& o) noexcept {
    if (this != &o) {
      Free();
      Steal(o);
    }
    return *this;
  }
  ~TaskList() { Free(); }

  void push_back(int32_t id) {
    if (size_ == capacity_) Grow();
    data()[size_++] = id;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int32_t* data() { return heap() ? u_.heap : u_.inline_ids; }
  const int32_t* data() const { return heap() ? u_.heap : u_.inline_ids; }
  int32_t& operator[](size_t i) { return data()[i]; }
  int32_t operator[](size_t i) const { return data()[i]; }
  int32_t front() const {
    PROTEUS_CHECK(size_ > 0, "TaskList::front on an empty list");
    return data()[0];
  }
  int32_t back() const {
    PROTEUS_CHECK(size_ > 0, "TaskList::back on an empty list");
    return data()[size_ - 1];
  }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  bool operator==(const TaskList& o) const { return std::equal(begin(), end(), o.begin(), o.end()); }

 private:
  static constexpr uint32_t kInline = 2;
  bool heap() const { return capacity_ > kInline; }
  void Grow() {
    uint32_t capacity = capacity_ * 2;
    auto* ids = new int32_t[capacity];
    std::memcpy(ids, data(), size_ * sizeof(int32_t));
    Free();
    u_.heap = ids;
    capacity_ = capacity;
  }
  void Assign(const TaskList& o) {
    for (int32_t id : o) push_back(id);
  }
  void Steal(TaskList& o) {
    u_ = o.u_;
    size_ = o.size_;
    capacity_ = o.capacity_;
    o.size_ = 0;
    o.capacity_ = kInline;
  }
  void Free() {
    if (heap()) delete[] u_.heap;
    capacity_ = kInline;
  }

  union {
    int32_t inline_ids[kInline];
    int32_t* heap;
  } u_{};
  uint32_t size_ = 0;
  uint32_t capacity_ = kInline;
};

}  // namespace proteus
