// Where shipped data lives (data/gpus, data/topos, data/clusters, data/models, data/db, ...).
// $PROTEUS_DATA_DIR wins; otherwise the source tree's data/ the binary was built from.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace proteus {

std::string DataDir();
/// Resolves a user-given name: an existing path as is; else data/<subdir>/<name>; else
/// data/<subdir>/<name><ext>. nullopt if none exists.
std::optional<std::string> ResolveDataFile(const std::string& subdir, const std::string& name,
                                           const std::string& ext);
/// Names (file stems) of data/<subdir>/*<ext>, sorted.
std::vector<std::string> DataNames(const std::string& subdir, const std::string& ext);
/// DataNames joined by ", ", for "did you mean" lists and --help.
std::string ListDataNames(const std::string& subdir, const std::string& ext);

}  // namespace proteus
