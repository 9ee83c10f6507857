#include "common/suggest.h"

#include <algorithm>
#include <cctype>

namespace proteus {

int EditDistance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];  // row[i-1][j-1]
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int up = row[j];
      int substitute = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      row[j] = std::min({up + 1, row[j - 1] + 1, substitute});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> ClosestNames(std::string_view typed, const std::vector<std::string>& names) {
  const int limit = std::max(2, static_cast<int>(typed.size()) / 3);
  std::vector<std::pair<int, std::string>> close;
  for (const auto& n : names)
    if (int d = EditDistance(typed, n); d <= limit) close.emplace_back(d, n);
  std::sort(close.begin(), close.end());
  // Only the closest: a name one edit away beats every name two edits away.
  std::vector<std::string> out;
  for (size_t i = 0; i < close.size() && i < 3 && close[i].first == close[0].first; ++i) out.push_back(close[i].second);
  return out;
}

std::string DidYouMean(std::string_view typed, const std::vector<std::string>& names) {
  std::vector<std::string> c = ClosestNames(typed, names);
  if (c.empty()) return "";
  std::string s = "did you mean ";
  for (size_t i = 0; i < c.size(); ++i) s += (i == 0 ? "" : i + 1 == c.size() ? " or " : ", ") + c[i];
  return s + "? ";
}

bool LooksLikePath(std::string_view text) {
  auto ends_with = [&](std::string_view e) {
    return text.size() >= e.size() && text.compare(text.size() - e.size(), e.size(), e) == 0;
  };
  return text.find('/') != std::string_view::npos || ends_with(".json") || ends_with(".xml");
}

}  // namespace proteus
