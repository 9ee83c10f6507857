#include "common/data_dir.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace proteus {

std::string DataDir() {
  if (const char* env = std::getenv("PROTEUS_DATA_DIR"); env && *env) return env;
#ifdef PROTEUS_SOURCE_DIR
  return std::string(PROTEUS_SOURCE_DIR) + "/data";
#else
  return "data";
#endif
}

std::optional<std::string> ResolveDataFile(const std::string& subdir, const std::string& name,
                                           const std::string& ext) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(name, ec)) return name;
  fs::path base = fs::path(DataDir()) / subdir;
  if (fs::is_regular_file(base / name, ec)) return (base / name).string();
  if (fs::is_regular_file(base / (name + ext), ec)) return (base / (name + ext)).string();
  return std::nullopt;
}

std::vector<std::string> DataNames(const std::string& subdir, const std::string& ext) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(DataDir()) / subdir, ec)) {
    std::string f = e.path().filename().string();
    if (f.size() > ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0)
      names.push_back(f.substr(0, f.size() - ext.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ListDataNames(const std::string& subdir, const std::string& ext) {
  std::string out;
  for (const auto& n : DataNames(subdir, ext)) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace proteus
