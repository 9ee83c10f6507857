// A ring shift: every member of a group sends one buffer to its successor at the same time (rank k
// to rank k + 1 mod n), as context parallelism's ring attention passes K/V blocks (NCCL p2p
// send/recv pairs batched together, Megatron-Core's batch_isend_irecv).
//
// Model. The shift is the n send/recv transfers of topo/'s p2p model, planned each on its own
// route (NVLink inside a node, the NICs across) and run together: its flows are theirs, its time
// alone the slowest transfer's. Worked example: cp 2 on one DGX H100 node, 8 MiB: two NVLink
// flows, 0 -> 1 and 1 -> 0, each at the p2p rate, finishing together.
#pragma once

#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "topo/collective.h"
#include "topo/ids.h"

namespace proteus {

/// The plan of a ring shift of `bytes` per member over `group` (in ring order, >= 2 members).
CollectivePlan RingShiftPlan(const CollectiveModel& model, const std::vector<GpuId>& group, int64_t bytes,
                             DType dtype);

}  // namespace proteus
