// proteus-profile's command line. main() is a thin wrapper so that tests can run the whole command
// (parsing, dry runs, plans, error exits) against a fake backend.
//
//   proteus-profile node -o data/db/h100.json          everything, default sweep
//   proteus-profile ops --manifest need.json -o db.json the ops a simulation asked for
//   proteus-profile collectives --max-bytes 1G -o db.json
//   proteus-profile interference -o db.json / topology -o db.json
//   proteus-profile node --dry-run --gpu h200 --gpus 8 plan and estimated duration, no GPU needed
//
// Exit codes: 0 done; 2 bad input, no GPU, a failed NCCL init or a GPU fault ("error: ..."); 1 a bug.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "profiler/backend.h"

namespace proteus::profiler {

/// Runs proteus-profile with `args` (without the program name).
int RunProteusProfile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const BackendFactory& make_backend);

}  // namespace proteus::profiler
