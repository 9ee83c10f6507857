// Path globs of strategy rules. Paths are dotted module/operator paths ("layers.3.mlp.fc1"; the root
// is ""). A glob is dotted components:
//   `**`        any number of components, including none
//   `[lo-hi]`   one component that is an integer in lo..hi inclusive ("layers.[0-11]")
//   otherwise   one component, where `*` matches any run of characters and `?` one character
// e.g. "layers.*.mlp.fc1" matches "layers.7.mlp.fc1"; "**.fc*" matches "layers.7.mlp.fc2";
// "layers.[0-1]" matches "layers.0" and "layers.1" but not "layers.10".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proteus {

/// True when `path` matches `glob` as a whole.
bool MatchGlob(std::string_view glob, std::string_view path);

/// A description of what is wrong with a glob (e.g. "[3-1]: empty range"), or nullopt if well formed.
std::optional<std::string> CheckGlob(std::string_view glob);

}  // namespace proteus
