#include "profiler/cuda/bootstrap.h"

#include <cstdlib>

namespace proteus::profiler {

#ifdef PROTEUS_WITH_MPI
std::unique_ptr<Bootstrap> MakeMpiBootstrap(int* argc, char*** argv);  // mpi_bootstrap.cc
#endif

namespace {
// Launchers export the world size: Open MPI, MPICH/Hydra (PMI), Slurm's srun.
bool UnderMpiLauncher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* s = std::getenv(v);
    if (s && std::atoi(s) > 1) return true;
  }
  return false;
}
}  // namespace

std::unique_ptr<Bootstrap> MakeBootstrap(int* argc, char*** argv) {
#ifdef PROTEUS_WITH_MPI
  if (UnderMpiLauncher()) return MakeMpiBootstrap(argc, argv);
#else
  (void)UnderMpiLauncher;
#endif
  return std::make_unique<Bootstrap>();
}

}  // namespace proteus::profiler
