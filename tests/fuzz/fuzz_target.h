// What every libFuzzer target here checks: a reader given any bytes returns, or throws UserError
// (the exit-2 message naming the file and field). Anything else escaping it (another exception, a
// crash, a sanitizer report, a hang past libFuzzer's -timeout) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/error.h"

namespace proteus::fuzz_target {

/// Runs `read`; a UserError is the reader refusing bad input, which is correct. With
/// PROTEUS_FUZZ_SHOW_ERRORS set the refusals are printed (to check that the seeds are accepted:
/// `PROTEUS_FUZZ_SHOW_ERRORS=1 build-asan/tests/fuzz/<target> -runs=0 tests/fuzz/corpus/<target>`).
template <typename Read>
void ExpectReturnOrUserError(Read&& read) {
  try {
    read();
  } catch (const UserError& e) {
    static const bool show = std::getenv("PROTEUS_FUZZ_SHOW_ERRORS") != nullptr;
    if (show) std::fprintf(stderr, "refused: %s\n", e.what());
  }
}

/// The input as text.
inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Writes `text` to one file of this process's scratch folder (for readers that take a path) and
/// returns its path; the same path every call, so a long run leaves one small file per target.
inline std::string ScratchFile(std::string_view text, const std::string& name) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("proteus_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  std::filesystem::path p = dir / name;
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(text.data(), static_cast<std::streamsize>(text.size()));
  return p.string();
}

}  // namespace proteus::fuzz_target
