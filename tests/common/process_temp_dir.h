// One temporary folder per test process ("<tmp>/proteus_test_<pid>"), removed at exit: tests that
// write files put them here instead of at fixed /tmp names, so concurrent test runs (two checkouts,
// ctest -j) never read or remove each other's files.
#pragma once

#include <filesystem>
#include <string>

#include "tests/common/temp_dir.h"

namespace proteus {

inline const TempDir& ProcessTempDir() {
  static const TempDir dir("proteus_test");
  return dir;
}

/// `name` inside the process's temporary folder.
inline std::string ProcessTempPath(const std::string& name) { return (ProcessTempDir().path() / name).string(); }

}  // namespace proteus
