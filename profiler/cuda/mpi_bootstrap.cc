// MPI bootstrap (compiled only when CMake finds MPI): rank 0 creates the NCCL unique id and
// broadcasts it; per-iteration collective times are reduced with MPI_MAX so every rank agrees.
#include <mpi.h>

#include "common/error.h"
#include "profiler/cuda/bootstrap.h"

namespace proteus::profiler {
namespace {

void CheckMpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw DeviceError(std::string(call) + " failed: " + std::string(msg, len));
}

class MpiBootstrap : public Bootstrap {
 public:
  MpiBootstrap(int* argc, char*** argv) {
    CheckMpi(MPI_Init(argc, argv), "MPI_Init");
    CheckMpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    CheckMpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  ~MpiBootstrap() override { MPI_Finalize(); }
  int Rank() const override { return rank_; }
  int Size() const override { return size_; }
  void Broadcast(void* data, size_t bytes) override {
    CheckMpi(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void AllreduceMax(std::vector<double>& v) override {
    CheckMpi(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
             "MPI_Allreduce");
  }
  bool AllTrue(bool ok) override {
    int v = ok ? 1 : 0;
    CheckMpi(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    return v == 1;
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Bootstrap> MakeMpiBootstrap(int* argc, char*** argv) {
  return std::make_unique<MpiBootstrap>(argc, argv);
}

}  // namespace proteus::profiler
