#include "simulator/compile/comm_buffers.h"

#include <algorithm>
#include <array>
#include <map>

#include "common/error.h"

namespace proteus {

std::vector<int64_t> NcclBufferBytes(const ExecGraph& graph, int64_t simple_buffsize) {
  const size_t n = graph.gpus.size();
  // Per GPU: the channels of each collective communicator (stream kind, communicator), and of each
  // p2p peer.
  // Collectives are keyed by (stream, communicator), a handful of values: a flat array per GPU, as
  // this runs over every comm of the graph (132k on a 1,024-GPU GPT-3 run).
  constexpr int kCommunicators = 3;  // the stream's own, HSDP's shard and replicate groups (exec_graph.h)
  std::vector<std::array<int, kNumStreams * kCommunicators>> collective(n, std::array<int, kNumStreams * kCommunicators>{});
  std::vector<std::map<int, int>> p2p(n);
  for (const Comm& c : graph.comms) {
    // A host copy (cudaMemcpyAsync over PCIe, host_offload.h) opens no NCCL connection.
    // Nor does the parameter server's push and pull (ps-lite's own connections, ps_server.h).
    if (c.members.empty() || graph.tasks[c.members.front()].kind == TaskKind::kMemcpy) continue;
    if (c.stream == StreamKind::kPsComm) continue;
    const int channels = std::max(1, c.plan->channels);
    const bool is_p2p = graph.tasks[c.members.front()].kind == TaskKind::kP2P;
    for (TaskId m : c.members) {
      const int g = graph.tasks[m].gpu;
      if (!is_p2p) {
        PROTEUS_CHECK(c.communicator < kCommunicators, "a comm on an unknown communicator");
        int& ch = collective[g][static_cast<int>(c.stream) * kCommunicators + c.communicator];
        ch = std::max(ch, channels);
        continue;
      }
      bool has_peer = false;
      for (TaskId o : c.members) {
        const int peer = graph.tasks[o].gpu;
        if (peer == g) continue;
        has_peer = true;
        int& ch = p2p[g][graph.gpus[peer].global_id];
        ch = std::max(ch, channels);
      }
      // A peer that is not simulated still holds a connection (one, whatever it is).
      if (!has_peer) {
        int& ch = p2p[g][-1];
        ch = std::max(ch, channels);
      }
    }
  }
  const int64_t per_collective_channel = simple_buffsize + kNcclLlBuffsize + kNcclLl128Buffsize;
  std::vector<int64_t> bytes(n, 0);
  for (size_t g = 0; g < n; ++g) {
    for (int ch : collective[g]) bytes[g] += ch * per_collective_channel;  // 0 where none runs
    for (const auto& [peer, ch] : p2p[g]) bytes[g] += ch * simple_buffsize;
  }
  return bytes;
}

void AddNcclBuffers(ExecGraph& graph, int64_t simple_buffsize) {
  std::vector<int64_t> bytes = NcclBufferBytes(graph, simple_buffsize);
  for (size_t g = 0; g < graph.gpus.size(); ++g)
    graph.gpus[g].static_memory[static_cast<int>(MemCategory::kBuffers)] += bytes[g];
}

}  // namespace proteus
