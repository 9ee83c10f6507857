// proteus-profile: measures a GPU node into a proteus.costdb/1 database (profiler/cli.h).
#include <iostream>

#include "profiler/cli.h"
#include "profiler/cuda/cuda_backend.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return proteus::profiler::RunProteusProfile(args, std::cout, std::cerr, [&] {
    return proteus::profiler::MakeCudaBackend(&argc, &argv);
  });
}
