// NCCL collective timing, nccl-tests style, one process driving all local GPUs (ncclCommInitAll),
// or one process per node under MPI (ncclCommInitRank with an MPI-broadcast unique id).
//
// A point (op, ranks, algo, proto, bytes) is timed per iteration on every rank's stream with CUDA
// events around one grouped launch; the iteration's time is the maximum over ranks (and nodes):
// the collective is done when its last rank is. Median, p10, p90 over the iterations.
// Algorithm and protocol are forced with NCCL_ALGO / NCCL_PROTO while the communicators of that
// configuration are created ("default" leaves NCCL's own choice); a configuration NCCL rejects
// for an op returns nullopt. Sizes follow nccl-tests: all_gather's bytes are the output buffer,
// reduce_scatter's the input, alltoall's the whole buffer, sendrecv's what each rank sends.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "common/costdb.h"
#include "profiler/cuda/bootstrap.h"
#include "profiler/cuda/buffers.h"
#include "profiler/plan.h"
#include "profiler/stats.h"

namespace proteus::profiler {

class NcclBench {
 public:
  NcclBench(Bootstrap& boot, int local_gpus);
  ~NcclBench();

  /// Times one point; nullopt when NCCL rejects this algorithm/protocol for the op.
  std::optional<CurvePoint> Measure(const CollectivePoint& p, const TimingPolicy& policy);

  /// Enqueues `iters` calls (asynchronously) and returns per-iteration seconds once they finish;
  /// used by Measure and by interference runs. `between(i)` runs after enqueuing call i.
  std::vector<double> Run(const CollectiveKey& key, int64_t bytes, int iters,
                          const std::function<void(int)>& between = nullptr);

 private:
  struct Comms {
    std::vector<int> devices;          // local devices taking part
    std::vector<ncclComm_t> comms;
    std::vector<cudaStream_t> streams;
    int first_rank = 0;                // global rank of devices[0]
    int ranks = 0;                     // global group size
  };
  Comms& Get(const CollectiveKey& key);
  void Drop(const CollectiveKey& key);
  void Launch(Comms& c, const CollectiveKey& key, int64_t bytes);
  void EnsureBuffers(const Comms& c, int64_t bytes);

  Bootstrap& boot_;
  int local_gpus_;
  std::map<std::tuple<int, std::string, std::string>, Comms> comms_;
  std::map<int, std::pair<DeviceBuffer, DeviceBuffer>> buffers_;  // device -> (send, recv)
};

}  // namespace proteus::profiler
