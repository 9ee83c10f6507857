// Decomposition of a planned collective into flows on the cluster's link graph.
//
// Each algorithm moves bytes along its own structure; a flow is one hop of that structure with the
// bytes it carries in total (all channels that share the hop's route are merged):
//   ring (all_reduce, all_gather, reduce_scatter, broadcast, reduce, PAT): per channel, GPUs in the
//     channel's order inside each node, nodes in order, joined through the channel's NIC; a hop of
//     an all_reduce carries 2(n-1)/n x bytes / channels, of all_gather / reduce_scatter (n-1)/n x
//     bytes / channels, of broadcast / reduce bytes / channels (n-1 hops, no hop into the root);
//   tree (all_reduce): a chain in each node (bytes up and down each hop) and two binary trees over
//     the nodes' chain heads, each edge carrying bytes / channels per direction;
//   NVLS: every GPU sends bytes to the NVSwitch and receives bytes from it (multimem reduce + store);
//     NVLS-tree adds the inter-node tree; CollNet sends each head's share to the leaf switch and back;
//   alltoall: bytes/n from every rank to every other (aggregated per NIC for large groups);
//   sendrecv: bytes over the route from src to dst.
// Conservation (tested): the bytes leaving GPUs equal the algorithm's per-rank traffic x ranks.
#pragma once

#include <vector>

#include "topo/channel_search.h"
#include "topo/cluster.h"
#include "topo/collective.h"
#include "topo/nccl_tuning.h"

namespace proteus {

struct GroupShape;

/// Flows (bytes and links; max_rate left 0) of `op` run with `algo` over `graph`'s channels.
std::vector<FlowSpec> BuildFlows(const Cluster& cluster, const GroupShape& shape, const std::vector<GpuId>& group,
                                 const ChannelGraph& graph, CollOp op, NcclAlgo algo, double bytes);

/// Flows of point-to-point patterns (alltoall, sendrecv).
std::vector<FlowSpec> BuildP2pFlows(const Cluster& cluster, const GroupShape& shape, const std::vector<GpuId>& group,
                                    CollOp op, double bytes);

}  // namespace proteus
