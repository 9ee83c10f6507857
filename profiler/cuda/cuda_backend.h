// The real backend: measures on the local GPUs with cuBLASLt, cuDNN, NCCL, CUPTI and proteus's
// kernels. Ops run on GPU 0; collectives on all GPUs (and nodes, under MPI).
#pragma once

#include <memory>

#include "profiler/backend.h"

namespace proteus::profiler {

/// Creates the backend (initializing MPI when built with it and started by mpirun).
std::unique_ptr<Backend> MakeCudaBackend(int* argc, char*** argv);

/// Measures one op on `device` with the standard policy: status ok/oom/error (backend.h).
OpEntry MeasureOpOnDevice(const OpKey& key, int device);

}  // namespace proteus::profiler
