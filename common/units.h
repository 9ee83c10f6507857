// Units at the edges. Inside proteus: seconds (double), bytes (int64_t), bytes/second (double).
// Anything else carries a suffix (lat_us, bw_gbps). GB/s here is 1e9 B/s (the nccl-tests convention);
// sizes such as "8GB" on a command line are binary (nccl-tests' -b/-e convention: 1K = 1024).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace proteus {

inline constexpr int64_t kKiB = 1024;
inline constexpr int64_t kMiB = 1024 * kKiB;
inline constexpr int64_t kGiB = 1024 * kMiB;
inline constexpr double kGBps = 1e9;     // 1 GB/s in bytes per second
inline constexpr double kGbps = 1e9 / 8; // 1 Gb/s in bytes per second
inline constexpr double kUs = 1e-6;
inline constexpr double kMs = 1e-3;
inline constexpr double kTera = 1e12;

/// Parses "8", "8B", "64K", "64KB", "1M", "1MiB", "8G", "8GB" (binary multiples). nullopt when malformed.
std::optional<int64_t> ParseBytes(std::string_view text);
/// Formats bytes as nccl-tests would print a size: "8 B", "64 KB", "1 MB", "4 GB" (binary).
std::string FormatBytes(int64_t bytes);
/// Formats seconds with a sensible unit: "13.7 us", "2.31 ms", "1.504 s".
std::string FormatSeconds(double seconds);

}  // namespace proteus
