#include "common/stored_time.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace proteus {

namespace {

// The double nearest to (the shortest decimal that reads back as x) * 10^shift. Infinities, NaN
// and results beyond double's range fall back to the multiplication (what the callers did before).
double ShiftDecimalPoint(double x, int shift) {
  if (x == 0 || !std::isfinite(x)) return x;
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), x, std::chars_format::scientific);
  if (ec != std::errc()) return x * std::pow(10.0, shift);
  // text is "<mantissa>e<exponent>", e.g. "1.2345e-05": rewrite the exponent.
  std::string s(text, end);
  size_t e = s.find('e');
  int exponent = std::stoi(s.substr(e + 1)) + shift;
  s = s.substr(0, e) + "e" + std::to_string(exponent);
  double out = 0;
  auto parsed = std::from_chars(s.data(), s.data() + s.size(), out);
  if (parsed.ec != std::errc()) return x * std::pow(10.0, shift);  // out of range (subnormal or huge)
  return out;
}

}  // namespace

double SecondsFromStoredMicros(double us) { return ShiftDecimalPoint(us, -6); }

double StoredMicrosFromSeconds(double s) { return ShiftDecimalPoint(s, 6); }

double StorableSeconds(double s) {
  if (s == 0 || !std::isfinite(s)) return s;
  char text[64];
  // 15 significant digits, correctly rounded, whatever the locale.
  auto [end, ec] = std::to_chars(text, text + sizeof(text), s, std::chars_format::scientific, 14);
  double out = s;
  if (ec == std::errc()) std::from_chars(text, end, out);
  return out;
}

}  // namespace proteus
