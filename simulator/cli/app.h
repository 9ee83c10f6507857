// proteus-sim's command line: every subcommand registers itself on one CLI11 app. RunProteusSim is
// main() without the process, so end-to-end tests can run commands in-process.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI { class App; }

namespace proteus {

/// Runs proteus-sim with `args` (without the program name). Returns the exit code: 0 ok,
/// 2 bad input (message on `err`), 1 internal error.
int RunProteusSim(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Subcommands (one file each: cmd_<name>.cc). Each adds itself to `app`; its callback writes
// results to `out`.
void AddSimulateCommand(CLI::App& app, std::ostream& out);
void AddValidateCommand(CLI::App& app, std::ostream& out);
void AddCalibrateCommand(CLI::App& app, std::ostream& out);
void AddTopoCommand(CLI::App& app, std::ostream& out);
void AddCollectiveCommand(CLI::App& app, std::ostream& out);
void AddSearchCommand(CLI::App& app, std::ostream& out);
void AddMetisCommand(CLI::App& app, std::ostream& out);
void AddListCommand(CLI::App& app, std::ostream& out);

}  // namespace proteus
