#include "topo/collective.h"

#include <array>
#include <utility>

namespace proteus {
namespace {
constexpr std::array<std::pair<CollOp, std::string_view>, 7> kCollOpNames = {{
    {CollOp::kAllReduce, "all_reduce"},
    {CollOp::kAllGather, "all_gather"},
    {CollOp::kReduceScatter, "reduce_scatter"},
    {CollOp::kBroadcast, "broadcast"},
    {CollOp::kReduce, "reduce"},
    {CollOp::kAllToAll, "alltoall"},
    {CollOp::kSendRecv, "sendrecv"},
}};
}  // namespace

std::string_view CollOpName(CollOp op) {
  for (const auto& [o, n] : kCollOpNames)
    if (o == op) return n;
  return "?";
}

bool ParseCollOp(std::string_view name, CollOp* out) {
  for (const auto& [o, n] : kCollOpNames) {
    if (n == name) {
      *out = o;
      return true;
    }
  }
  // nccl-tests spellings: allreduce, all_to_all, sendrecv_perf names without underscores.
  if (name == "allreduce") { *out = CollOp::kAllReduce; return true; }
  if (name == "allgather") { *out = CollOp::kAllGather; return true; }
  if (name == "reducescatter") { *out = CollOp::kReduceScatter; return true; }
  if (name == "all_to_all") { *out = CollOp::kAllToAll; return true; }
  if (name == "send_recv") { *out = CollOp::kSendRecv; return true; }
  return false;
}

}  // namespace proteus
