// How data-parallel gradients are reduced (`dp_method`, `--dp-method`): the methods of the
// data-parallel training systems the HKBU-HPML ddl-benchmarks suite compares. compile/grad_grouping.h
// decides which gradients share one all-reduce; compile/program_grad_buckets.cc emits them.
//
//   buckets  PyTorch DDP / Megatron: fixed-size buckets (grad_bucket_bytes), each all-reduced as soon
//            as its last gradient is written (the default, and the only method with ZeRO sharding
//            of gradients across buckets that the other frameworks' methods do not describe);
//   bsp      one all-reduce of every gradient after the backward (bulk synchronous);
//   wfbp     wait-free backpropagation (Zhang et al. 2017, Poseidon): one all-reduce per gradient
//            tensor, issued as the tensor is produced;
//   fusion   Horovod tensor fusion: a background cycle every `fusion_cycle_s` fuses the gradients
//            ready by then into buffers of at most `fusion_threshold_bytes` (horovod docs/tensor-fusion.rst:
//            HOROVOD_FUSION_THRESHOLD, "default fusion buffer size is 64 MB", 0 disables fusion;
//            HOROVOD_CYCLE_TIME in ms). Defaults of Horovod up to 0.20, as the ddl-benchmarks runs
//            (0.19) used: 64 MiB and 5 ms (v0.21.0's changelog: "Changed default cycle time from 5ms
//            to 1ms and fusion threshold from 64MB to 128MB", #2468);
//   mgwfbp   merged-gradient WFBP (Shi, Wang, Chu, "MG-WFBP: Efficient Data Communication for
//            Distributed Synchronous SGD Algorithms", INFOCOM 2019): adjacent gradients merged into
//            one all-reduce where the alpha-beta cost of the all-reduce says the merge saves time;
//   ps       the BytePS parameter server (Jiang et al., "A Unified Architecture for Accelerating
//            Distributed DNN Training in Heterogeneous GPU/CPU Clusters", OSDI 2020; BytePS 0.2):
//            per gradient tensor, in WFBP order, a reduce inside each worker node, a push of the
//            node's sum (in pieces of `ps_partition_bytes`, spread round-robin over the servers) to
//            the servers, their CPU summation, a pull of the sum and a broadcast inside the node
//            (compile/ps_server.h). Servers: `ps_servers` hosts (0: one per worker node), separate
//            CPU hosts with a NIC like the workers' (the default) or co-located on the worker nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace proteus {

enum class DpMethod { kBuckets, kBsp, kWfbp, kFusion, kMgWfbp, kPs };
std::string_view DpMethodName(DpMethod m);  // "buckets", "bsp", "wfbp", "fusion", "mgwfbp", "ps"
std::optional<DpMethod> ParseDpMethod(std::string_view name);
/// "buckets, bsp, wfbp, fusion, mgwfbp, ps", for messages and --help.
std::string DpMethodList();

inline constexpr int64_t kDefaultFusionThresholdBytes = 64 * 1024 * 1024;  // HOROVOD_FUSION_THRESHOLD default
inline constexpr double kDefaultFusionCycleS = 0.005;                    // HOROVOD_CYCLE_TIME default (5 ms)
/// Bounds of the Horovod knobs: a fusion buffer up to 1 TiB, a cycle up to 10 s (both far above use).
inline constexpr int64_t kMaxFusionThresholdBytes = int64_t{1} << 40;
inline constexpr double kMaxFusionCycleS = 10.0;
/// BYTEPS_PARTITION_BYTES default: BytePS 0.2 splits every tensor into pieces of at most 4096000
/// bytes (byteps/common/global.cc, `_partition_bytes = 4096000`; docs/env.md).
inline constexpr int64_t kDefaultPsPartitionBytes = 4096000;
/// Bound of ps_servers (far above any deployment).
inline constexpr int kMaxPsServers = 1 << 16;

/// The method and its knobs (only `fusion` reads the two Horovod ones, only `ps` the ps_ ones).
struct DpReduction {
  DpMethod method = DpMethod::kBuckets;
  int64_t fusion_threshold_bytes = kDefaultFusionThresholdBytes;  // >= 0; 0 turns fusion off (one tensor each)
  double fusion_cycle_s = kDefaultFusionCycleS;                    // >= 0
  int ps_servers = 0;             // server hosts; 0: one per worker node (ddl-benchmarks' setup)
  bool ps_colocated = false;      // servers on the worker nodes (sharing their NICs), not hosts of their own
  int64_t ps_partition_bytes = kDefaultPsPartitionBytes;  // > 0
  bool operator==(const DpReduction&) const = default;
};

/// UserError naming `where_method` / `where_threshold` / `where_cycle` (a flag or a file's field)
/// when a knob is out of range.
void CheckDpReduction(const DpReduction& r, const std::string& where_threshold, const std::string& where_cycle);

}  // namespace proteus
