// JSON text for output. Names that come from the user's files and paths are not always valid UTF-8
// (a file name in Latin-1, a byte string in a dump); nlohmann's dump throws on them (type_error 316)
// after a whole simulation. Here their invalid bytes become U+FFFD, the rest is unchanged, so a
// report, a database or a trace is always written.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace proteus {

/// `doc` as JSON text with `indent` spaces per level (-1: one line), invalid UTF-8 replaced.
inline std::string JsonText(const nlohmann::json& doc, int indent = 2) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace proteus
