// The BytePS parameter server's push and pull of one gradient tensor (dp_method ps,
// strategy/dp_method.h) as flows over the cluster's links and its server hosts' NICs.
//
// Model (BytePS 0.2; Jiang et al., OSDI 2020). W worker nodes; per node its first data-parallel GPU
// (the root) holds the node's sum after the NCCL reduce inside the node (program_dp_methods.cc).
// A tensor of B bytes is cut into pieces of at most P bytes (BYTEPS_PARTITION_BYTES); piece j of the
// stage's sequence belongs to server j mod S (round-robin). Per piece and worker:
//   push  root GPU -> its CPU (the copy to host memory, PCIe) -> NIC -> fabric -> the server;
//   sum   the server adds the W pushes: W x piece / the server CPU's memory bandwidth;
//   pull  the server -> fabric -> NIC -> CPU -> root GPU (the copy back to the GPU).
// Each worker therefore sends B and receives B: 2 B per worker per tensor, whatever S.
// The push and the pull of a tensor run as concurrent flows of one comm: on full-duplex links they
// load opposite directions, which is BytePS' pipelined steady state (tensor k's pull overlaps
// tensor k+1's push, each stage a queue of its own); it misses one pull's drain at the end of a
// chain. Alone, time = latency + max over links (bytes over the link / its bandwidth), with
//   latency = 2 host-copy start-ups + 2 fabric latencies + max over servers (their pieces' sum time).
// Copies to and from host memory and the NIC reads are pipelined by BytePS over the pieces, so one
// flow per piece over the whole route (its slowest link bounds it) stands for the staged transfer.
//
// Server hosts. Separate (the default, as in ddl-benchmarks): S CPU hosts, each with one NIC as
// fast as a worker's first NIC, hanging off the switch of worker node s mod W's first NIC. Rather
// than add hosts to the cluster (its graph, node groups and every GPU-indexed table assume nodes
// hold GPUs), their NICs are two links each (switch -> server, server -> switch) numbered after
// the cluster graph's links: the engine needs only a capacity per link id (ExecGraph::link_capacity),
// and no collective of the other methods can route over them. Co-located: server s runs on worker
// node s (S <= W) and its traffic crosses that node's first NIC; a worker's pieces for its own
// node's server stay in host memory (no fabric links).
//
// Worked example: 2 worker nodes, 2 separate servers, NIC links of B = 1.25e9 B/s, one 8e6-byte
// tensor in pieces of 4096000 and 3904000 bytes: each worker pushes one piece to each server, so
// each worker's uplink carries 8e6 bytes and server 0's downlink the larger piece twice, 8192000
// bytes, the busiest link: transfer 8192000 / B = 6.55 ms, pulls alike on the other direction, plus
// the latency (20 us + 50 us + the larger sum, 2 x 4096000 / 76.8e9 = 107 us). tests/compile/ps_server_test.cc checks it on the ddl cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "simulator/strategy/dp_method.h"
#include "simulator/strategy/strategy.h"
#include "topo/cluster.h"
#include "topo/collective.h"

namespace proteus {

/// CollectivePlan::algo of a push and pull.
inline constexpr const char* kPsAlgo = "ps";

class PsServers {
 public:
  /// `worker_nodes`: the cluster nodes of the roots, in group order (W >= 2 of them, distinct).
  /// `sum_bw`: a server CPU's memory bandwidth in bytes/s. UserError naming `where_servers` when
  /// co-located servers outnumber the worker nodes.
  PsServers(const Cluster& cluster, const DpReduction& r, std::vector<int> worker_nodes, double sum_bw,
            const std::string& where_servers);

  int Servers() const { return servers_; }
  /// Capacities of the links the separate servers add after the cluster graph's (empty co-located):
  /// server s's downlink is id NumLinks() + 2 s, its uplink the next one.
  std::vector<double> ExtraLinkCapacities() const;
  /// The push and pull of `bytes` by every root in `roots` (GPU ids, one per worker node, in
  /// worker order), its pieces starting at round-robin position `first_piece`.
  CollectivePlan Plan(const std::vector<GpuId>& roots, int64_t bytes, int64_t first_piece) const;

 private:
  double Capacity(LinkId l) const;
  std::vector<LinkId> ToServer(int worker_node, int server) const;
  std::vector<LinkId> FromServer(int server, int worker_node) const;
  // Separate servers: the switch a server hangs off, and the core hop between two switches.
  int ServerSwitch(int server) const;
  void AddCoreHop(int from_switch, int to_switch, std::vector<LinkId>& route) const;

  const Cluster& cluster_;
  std::vector<int> workers_;
  int servers_ = 0;
  bool colocated_ = false;
  int64_t partition_bytes_ = 0;
  double sum_bw_ = 0;
  double server_nic_bw_ = 0;
  LinkId extra_base_ = 0;
};

/// dp_method ps: data-parallel ranks per worker node, rank r running on cluster GPU r (1 for the
/// other methods). BytePS reduces inside each node and its first GPU talks to the servers, so the
/// `ranks` must fill whole nodes of equal size, in order; UserError naming the strategy otherwise.
int PsRanksPerNode(const Strategy& s, int ranks, const Cluster& cluster);
/// The servers of a ps job on two or more worker nodes (nullopt otherwise: one node reduces and
/// broadcasts inside itself). The sum bandwidth is one socket's DRAM bandwidth of the CPU the
/// workers' GPU type ships with (cost/cpu_spec.h, cited in data/cpus/): the servers are assumed
/// to be such hosts.
std::optional<PsServers> MakePsServers(const Strategy& s, int ranks, const Cluster& cluster);

}  // namespace proteus
