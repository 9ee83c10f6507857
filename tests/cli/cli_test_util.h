// Runs proteus-sim in-process for end-to-end tests.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/log.h"
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

/// A command line that must be refused: `args` after a test's base command.
struct BadInputCase {
  std::vector<std::string> args;
  std::string expect_in_message;
};

/// Runs `base` + the case's args and checks the refusal: exit 2, an "error: " line containing
/// `expect_in_message` on stderr, nothing on stdout.
inline void ExpectRefused(std::vector<std::string> base, const BadInputCase& c) {
  SetLogLevel(LogLevel::kQuiet);
  base.insert(base.end(), c.args.begin(), c.args.end());
  CliRun r = RunCli(base);
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.expect_in_message), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace proteus
