#include "profiler/cuda/nccl_bench.h"

#include <algorithm>
#include <cstdlib>

#include "common/log.h"
#include "profiler/cuda/check.h"

namespace proteus::profiler {
namespace {

const char* NcclAlgoName(const std::string& a) {
  if (a == "ring") return "Ring";
  if (a == "tree") return "Tree";
  if (a == "nvls") return "NVLS";
  if (a == "nvls_tree") return "NVLSTree";
  if (a == "collnet_direct") return "CollnetDirect";
  if (a == "collnet_chain") return "CollnetChain";
  if (a == "pat") return "PAT";
  return nullptr;
}
const char* NcclProtoName(const std::string& p) {
  if (p == "ll") return "LL";
  if (p == "ll128") return "LL128";
  if (p == "simple") return "Simple";
  return nullptr;
}

// Sets NCCL_ALGO / NCCL_PROTO for the communicators created in its scope (NCCL reads them at init).
class ScopedNcclEnv {
 public:
  ScopedNcclEnv(const std::string& algo, const std::string& proto) {
    Set("NCCL_ALGO", NcclAlgoName(algo));
    Set("NCCL_PROTO", NcclProtoName(proto));
  }
  ~ScopedNcclEnv() {
    unsetenv("NCCL_ALGO");
    unsetenv("NCCL_PROTO");
  }

 private:
  static void Set(const char* var, const char* value) {
    if (value) setenv(var, value, 1);
    else unsetenv(var);
  }
};

constexpr int64_t kElem = 2;  // bf16

}  // namespace

NcclBench::NcclBench(Bootstrap& boot, int local_gpus) : boot_(boot), local_gpus_(local_gpus) {}

NcclBench::~NcclBench() {
  for (auto& [k, c] : comms_)
    for (size_t i = 0; i < c.comms.size(); ++i) {
      ncclCommDestroy(c.comms[i]);
      cudaSetDevice(c.devices[i]);
      cudaStreamDestroy(c.streams[i]);
    }
}

NcclBench::Comms& NcclBench::Get(const CollectiveKey& key) {
  auto id = std::make_tuple(key.ranks, key.algo, key.proto);
  auto it = comms_.find(id);
  if (it != comms_.end()) return it->second;
  Comms c;
  c.ranks = key.ranks;
  int local = boot_.Size() > 1 ? local_gpus_ : key.ranks;
  for (int d = 0; d < local; ++d) c.devices.push_back(d);
  c.comms.resize(local);
  c.first_rank = boot_.Rank() * local;
  {
    ScopedNcclEnv env(key.algo, key.proto);
    if (boot_.Size() == 1) {
      PROTEUS_NCCL(ncclCommInitAll(c.comms.data(), local, c.devices.data()));
    } else {
      ncclUniqueId uid{};
      if (boot_.Rank() == 0) PROTEUS_NCCL(ncclGetUniqueId(&uid));
      boot_.Broadcast(&uid, sizeof uid);
      PROTEUS_NCCL(ncclGroupStart());
      for (int i = 0; i < local; ++i) {
        PROTEUS_CUDA(cudaSetDevice(c.devices[i]));
        PROTEUS_NCCL(ncclCommInitRank(&c.comms[i], key.ranks, uid, c.first_rank + i));
      }
      PROTEUS_NCCL(ncclGroupEnd());
    }
  }
  for (int d : c.devices) {
    PROTEUS_CUDA(cudaSetDevice(d));
    cudaStream_t s;
    PROTEUS_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    c.streams.push_back(s);
  }
  return comms_.emplace(id, std::move(c)).first->second;
}

void NcclBench::Drop(const CollectiveKey& key) {
  auto it = comms_.find(std::make_tuple(key.ranks, key.algo, key.proto));
  if (it == comms_.end()) return;
  for (size_t i = 0; i < it->second.comms.size(); ++i) {
    ncclCommAbort(it->second.comms[i]);
    cudaSetDevice(it->second.devices[i]);
    cudaStreamDestroy(it->second.streams[i]);
  }
  comms_.erase(it);
}

void NcclBench::EnsureBuffers(const Comms& c, int64_t bytes) {
  for (int d : c.devices) {
    auto& [send, recv] = buffers_[d];
    if (send.bytes() >= bytes) continue;
    PROTEUS_CUDA(cudaSetDevice(d));
    send = DeviceBuffer();
    recv = DeviceBuffer();
    send = DeviceBuffer(bytes);
    recv = DeviceBuffer(bytes);
    FillRandom(send.get(), DType::kBf16, bytes / kElem, 77 + d, 0.25f, 1.0f, 0);
    PROTEUS_CUDA(cudaDeviceSynchronize());
  }
}

void NcclBench::Launch(Comms& c, const CollectiveKey& key, int64_t bytes) {
  const std::string& op = key.op;
  int n = c.ranks;
  size_t count = std::max<int64_t>(1, bytes / kElem);
  size_t part = std::max<int64_t>(1, bytes / (kElem * n));
  PROTEUS_NCCL(ncclGroupStart());
  for (size_t i = 0; i < c.comms.size(); ++i) {
    auto& [send, recv] = buffers_.at(c.devices[i]);
    ncclComm_t comm = c.comms[i];
    cudaStream_t s = c.streams[i];
    char* sb = static_cast<char*>(send.get());
    char* rb = static_cast<char*>(recv.get());
    int rank = c.first_rank + int(i);
    if (op == "all_reduce") PROTEUS_NCCL(ncclAllReduce(sb, rb, count, ncclBfloat16, ncclSum, comm, s));
    else if (op == "all_gather") PROTEUS_NCCL(ncclAllGather(sb, rb, part, ncclBfloat16, comm, s));
    else if (op == "reduce_scatter") PROTEUS_NCCL(ncclReduceScatter(sb, rb, part, ncclBfloat16, ncclSum, comm, s));
    else if (op == "broadcast") PROTEUS_NCCL(ncclBroadcast(sb, rb, count, ncclBfloat16, 0, comm, s));
    else if (op == "reduce") PROTEUS_NCCL(ncclReduce(sb, rb, count, ncclBfloat16, ncclSum, 0, comm, s));
    else if (op == "alltoall") {
      for (int peer = 0; peer < n; ++peer) {
        PROTEUS_NCCL(ncclSend(sb + peer * part * kElem, part, ncclBfloat16, peer, comm, s));
        PROTEUS_NCCL(ncclRecv(rb + peer * part * kElem, part, ncclBfloat16, peer, comm, s));
      }
    } else {  // sendrecv: a ring exchange, as nccl-tests' sendrecv_perf
      PROTEUS_NCCL(ncclSend(sb, count, ncclBfloat16, (rank + 1) % n, comm, s));
      PROTEUS_NCCL(ncclRecv(rb, count, ncclBfloat16, (rank + n - 1) % n, comm, s));
    }
  }
  PROTEUS_NCCL(ncclGroupEnd());
}

std::vector<double> NcclBench::Run(const CollectiveKey& key, int64_t bytes, int iters,
                                   const std::function<void(int)>& between) {
  Comms& c = Get(key);
  EnsureBuffers(c, bytes);
  size_t local = c.devices.size();
  std::vector<cudaEvent_t> ev(2 * local * iters);
  for (size_t i = 0; i < local; ++i) {
    PROTEUS_CUDA(cudaSetDevice(c.devices[i]));
    for (int it = 0; it < iters; ++it)
      for (int k = 0; k < 2; ++k) PROTEUS_CUDA(cudaEventCreate(&ev[(i * iters + it) * 2 + k]));
  }
  for (int it = 0; it < iters; ++it) {
    for (size_t i = 0; i < local; ++i) PROTEUS_CUDA(cudaEventRecord(ev[(i * iters + it) * 2], c.streams[i]));
    Launch(c, key, bytes);
    for (size_t i = 0; i < local; ++i) PROTEUS_CUDA(cudaEventRecord(ev[(i * iters + it) * 2 + 1], c.streams[i]));
    if (between) between(it);
  }
  std::vector<double> t(iters, 0.0);
  for (size_t i = 0; i < local; ++i) {
    PROTEUS_CUDA(cudaSetDevice(c.devices[i]));
    PROTEUS_CUDA(cudaStreamSynchronize(c.streams[i]));
    ncclResult_t async = ncclSuccess;
    PROTEUS_NCCL(ncclCommGetAsyncError(c.comms[i], &async));
    PROTEUS_NCCL(async);
    for (int it = 0; it < iters; ++it) {
      float ms = 0;
      PROTEUS_CUDA(cudaEventElapsedTime(&ms, ev[(i * iters + it) * 2], ev[(i * iters + it) * 2 + 1]));
      t[it] = std::max(t[it], ms * 1e-3);
    }
  }
  for (auto e : ev) cudaEventDestroy(e);
  boot_.AllreduceMax(t);
  return t;
}

std::optional<CurvePoint> NcclBench::Measure(const CollectivePoint& p, const TimingPolicy& policy) {
  std::vector<double> first;
  bool ok = true;
  try {
    first = Run(p.key, p.bytes, 1);
  } catch (const DeviceError& e) {
    if (p.key.algo == "default" && p.key.proto == "default") throw;  // NCCL itself is failing
    LogDebug(std::string("NCCL rejected ") + p.key.ToString() + ": " + e.what());
    ok = false;
  }
  if (!boot_.AllTrue(ok)) {
    Drop(p.key);
    return std::nullopt;
  }
  Run(p.key, p.bytes, policy.WarmupCalls(first[0]));
  std::vector<double> t = Run(p.key, p.bytes, policy.TimedCalls(first[0]));
  return CurvePoint{p.bytes, Quantile(t, 0.5), Quantile(t, 0.1), Quantile(t, 0.9)};
}

}  // namespace proteus::profiler
