// How the processes of a profiling run find each other: one process per node, each driving all its
// GPUs. Without MPI (or when not started by mpirun) there is one process and these are trivial;
// with MPI (mpi_bootstrap.cc, built when CMake finds MPI) they are MPI_Bcast / MPI_Allreduce.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace proteus::profiler {

class Bootstrap {
 public:
  virtual ~Bootstrap() = default;
  virtual int Rank() const { return 0; }
  virtual int Size() const { return 1; }
  /// Copies rank 0's bytes to every rank.
  virtual void Broadcast(void* data, size_t bytes) {}
  /// Element-wise maximum over ranks, in place.
  virtual void AllreduceMax(std::vector<double>& v) {}
  /// True when `ok` is true on every rank.
  virtual bool AllTrue(bool ok) { return ok; }
};

/// The MPI bootstrap when built with MPI and started under mpirun with more than one process,
/// else the single-process one.
std::unique_ptr<Bootstrap> MakeBootstrap(int* argc, char*** argv);

}  // namespace proteus::profiler
