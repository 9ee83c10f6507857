#include "simulator/strategy/glob.h"

#include <charconv>
#include <vector>

namespace proteus {
namespace {

// Fills `parts` (cleared first) with the dot-separated components of s; none for "".
void SplitDotsInto(std::string_view s, std::vector<std::string_view>& parts) {
  parts.clear();
  if (s.empty()) return;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  SplitDotsInto(s, parts);
  return parts;
}

std::optional<long long> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// "[lo-hi]" -> {lo, hi}
std::optional<std::pair<long long, long long>> ParseRange(std::string_view c) {
  if (c.size() < 5 || c.front() != '[' || c.back() != ']') return std::nullopt;
  std::string_view inner = c.substr(1, c.size() - 2);
  size_t dash = inner.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto lo = ParseNumber(inner.substr(0, dash));
  auto hi = ParseNumber(inner.substr(dash + 1));
  if (!lo || !hi) return std::nullopt;
  return std::make_pair(*lo, *hi);
}

// Wildcards inside one component: '*' any run, '?' one character (iterative, backtracking once).
bool MatchComponent(std::string_view pat, std::string_view s) {
  if (auto range = ParseRange(pat)) {
    auto v = ParseNumber(s);
    return v && *v >= range->first && *v <= range->second;
  }
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[i])) {
      ++p, ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++, mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1, i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool MatchParts(const std::vector<std::string_view>& g, size_t gi, const std::vector<std::string_view>& p,
                size_t pi) {
  if (gi == g.size()) return pi == p.size();
  if (g[gi] == "**") {
    for (size_t k = pi; k <= p.size(); ++k)
      if (MatchParts(g, gi + 1, p, k)) return true;
    return false;
  }
  return pi < p.size() && MatchComponent(g[gi], p[pi]) && MatchParts(g, gi + 1, p, pi + 1);
}

}  // namespace

bool MatchGlob(std::string_view glob, std::string_view path) {
  // Resolving a strategy matches every rule against every module and operator path (hundreds of
  // thousands of calls for a 96-layer model): reused scratch keeps each call free of allocations.
  thread_local std::vector<std::string_view> glob_parts, path_parts;
  SplitDotsInto(glob, glob_parts);
  SplitDotsInto(path, path_parts);
  return MatchParts(glob_parts, 0, path_parts, 0);
}

std::optional<std::string> CheckGlob(std::string_view glob) {
  for (auto c : SplitDots(glob)) {
    if (c.empty()) return "empty path component (two dots in a row, or a leading/trailing dot)";
    if (c.find('[') != std::string_view::npos || c.find(']') != std::string_view::npos) {
      auto r = ParseRange(c);
      if (!r) return std::string(c) + ": a range must be a whole component [lo-hi] of integers";
      if (r->first > r->second) return std::string(c) + ": empty range (lo > hi)";
    }
  }
  return std::nullopt;
}

}  // namespace proteus
