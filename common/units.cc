#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace proteus {

std::optional<int64_t> ParseBytes(std::string_view text) {
  size_t i = 0;
  int64_t value = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (value > (INT64_MAX - 9) / 10) return std::nullopt;
    value = value * 10 + (text[i++] - '0');
  }
  std::string suffix;
  for (; i < text.size(); ++i) suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  int64_t mult = 0;
  if (suffix.empty() || suffix == "B") mult = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") mult = kKiB;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") mult = kMiB;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") mult = kGiB;
  else return std::nullopt;
  if (value > INT64_MAX / mult) return std::nullopt;
  return value * mult;
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (u < 4 && std::fabs(v) >= 1024 && std::fmod(v, 1024) == 0) { v /= 1024; ++u; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  return buf;
}

std::string FormatSeconds(double seconds) {
  char buf[64];
  double a = std::fabs(seconds);
  if (a < 1e-3) std::snprintf(buf, sizeof buf, "%.2f us", seconds * 1e6);
  else if (a < 1.0) std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
  else std::snprintf(buf, sizeof buf, "%.3f s", seconds);
  return buf;
}

}  // namespace proteus
