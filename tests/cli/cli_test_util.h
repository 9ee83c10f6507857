// Runs proteus-sim in-process for end-to-end tests.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "simulator/cli/app.h"

namespace proteus {

struct CliRun {
  int code = 0;
  std::string out, err;
};

inline CliRun RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CliRun r;
  r.code = RunProteusSim(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace proteus
