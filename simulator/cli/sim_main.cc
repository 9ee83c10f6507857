#include <iostream>

#include "simulator/cli/app.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return proteus::RunProteusSim(args, std::cout, std::cerr);
}
