// "Did you mean" for names a person types (models, clusters, GPUs), and telling a mistyped path
// from a mistyped name.
//
// The distance is Levenshtein's (insert, delete, substitute one character), case-insensitive. The
// names suggested are those at the smallest distance from what was typed, if it is at most
// max(2, length / 3), alphabetical, at most three: "gpt3-175" -> "gpt3-175b"; "dgx-h100-12" ->
// "dgx-h100-1", "dgx-h100-128", "dgx-h100-16" (one edit each).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace proteus {

/// Levenshtein distance, ignoring ASCII case.
int EditDistance(std::string_view a, std::string_view b);

/// Up to three of `names` closest to `typed` (all at the same distance).
std::vector<std::string> ClosestNames(std::string_view typed, const std::vector<std::string>& names);

/// "did you mean gpt3-175b? " (or "did you mean a, b or c? "); "" when nothing is close.
std::string DidYouMean(std::string_view typed, const std::vector<std::string>& names);

/// True when `text` reads as a file path rather than a name: it contains '/' or ends in .json or
/// .xml. Such an argument that does not exist is reported as "file not found".
bool LooksLikePath(std::string_view text);

}  // namespace proteus
