#include "simulator/cli/app.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "common/error.h"
#include "common/log.h"
#include "simulator/cli/megatron_flags.h"

namespace proteus {

int RunProteusSim(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"proteus-sim: predict the speed and memory of distributed training, without a GPU"};
  app.set_version_flag("--version", std::string("proteus-sim ") + PROTEUS_VERSION);
  app.require_subcommand(1);
  app.footer("Environment: PROTEUS_MAX_INPUT_MB=<MiB> replaces the size cap of every input file (defaults: 16 MiB "
             "for models, strategies, clusters, suites, runs and topologies; 256 MiB for cost databases; 512 MiB "
             "for traces and logs). PROTEUS_DATA_DIR: where shipped data lives.");
  // -q and -v are accepted after the subcommand too ("simulate ... -q"), as users type them.
  app.fallthrough();
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print only results (no progress or notes)");
  app.add_flag("-v,--verbose", verbose, "Print debugging detail on stderr");
  app.parse_complete_callback([&] {
    SetLogLevel(quiet ? LogLevel::kQuiet : verbose ? LogLevel::kDebug : LogLevel::kInfo);
  });
  AddSimulateCommand(app, out);
  AddValidateCommand(app, out);
  AddCalibrateCommand(app, out);
  AddTopoCommand(app, out);
  AddCollectiveCommand(app, out);
  AddSearchCommand(app, out);
  AddMetisCommand(app, out);
  AddListCommand(app, out);

  std::vector<std::string> joined = JoinMegatronArgsText(args);
  std::vector<std::string> reversed(joined.rbegin(), joined.rend());  // CLI11 takes them reversed
  try {
    app.parse(reversed);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Help and version requests are "errors" with exit code 0; app.exit prints the right help
    // (the subcommand's, for "simulate --help").
    if (e.get_exit_code() == 0) return app.exit(e, out, err);
    err << "error: " << e.what() << "\nRun with --help for usage.\n";
    return 2;
  } catch (...) {
    return ExitCodeForCurrentException(err);
  }
}

}  // namespace proteus
