// TaskList keeps up to two ids inline and moves to the heap beyond; it must behave as the vector it
// replaced in every way a Comm's member list is used (append, index, iterate, copy, move).
#include "simulator/compile/task_list.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace proteus {
namespace {

std::vector<int32_t> Ids(const TaskList& l) { return std::vector<int32_t>(l.begin(), l.end()); }

TEST(TaskList, AppendsInlineThenOnTheHeapKeepingOrder) {
  TaskList l;
  EXPECT_TRUE(l.empty());
  std::vector<int32_t> expect;
  for (int32_t id = 0; id < 37; ++id) {
    l.push_back(id * 3);
    expect.push_back(id * 3);
    ASSERT_EQ(Ids(l), expect) << "after " << id + 1 << " ids";
  }
  EXPECT_EQ(l.size(), 37u);
  EXPECT_EQ(l.front(), 0);
  EXPECT_EQ(l.back(), 108);
  EXPECT_EQ(l[5], 15);
}

TEST(TaskList, CopiesAndMovesInlineAndHeapLists) {
  for (int n : {0, 1, 2, 3, 9}) {
    TaskList a;
    for (int32_t id = 0; id < n; ++id) a.push_back(100 + id);
    TaskList copy(a);
    EXPECT_EQ(copy, a);
    copy.push_back(-1);  // the copy is independent of its source
    EXPECT_EQ(static_cast<int>(a.size()), n);
    TaskList moved(std::move(copy));
    EXPECT_EQ(static_cast<int>(moved.size()), n + 1);
    EXPECT_EQ(moved.back(), -1);
    TaskList assigned = {7, 8, 9, 10};
    assigned = a;
    EXPECT_EQ(assigned, a);
    assigned = std::move(moved);
    EXPECT_EQ(static_cast<int>(assigned.size()), n + 1);
    assigned.push_back(5);  // still usable after being assigned into
    EXPECT_EQ(assigned.back(), 5);
  }
}

}  // namespace
}  // namespace proteus
