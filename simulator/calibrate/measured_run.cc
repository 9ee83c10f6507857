#include "simulator/calibrate/measured_run.h"

#include <map>

#include "common/error.h"

namespace proteus {
namespace {

// Throws when a name of `from` is already in `into` (or twice in `from`), naming both places:
// calibration reports and fits runs by name.
template <typename T>
void CheckUnique(const std::vector<T>& into, const std::vector<T>& from, const char* what) {
  std::map<std::string, std::string> origin_of;
  for (const T& x : into) origin_of.emplace(x.name, x.origin);
  for (const T& x : from) {
    auto [it, fresh] = origin_of.emplace(x.name, x.origin);
    if (!fresh)
      throw UserError(x.origin, std::string(what) + " name \"" + x.name + "\" is already used by " + it->second +
                                    "; names must be unique (give each a \"name\")");
  }
}

template <typename T>
void MoveAll(std::vector<T>& into, std::vector<T>& from) {
  for (T& x : from) into.push_back(std::move(x));
}

}  // namespace

void RunSet::Append(RunSet other) {
  // Both checks first, so a failed Append leaves the set as it was.
  CheckUnique(runs, other.runs, "run");
  CheckUnique(kernels, other.kernels, "kernel");
  MoveAll(runs, other.runs);
  MoveAll(kernels, other.kernels);
}

}  // namespace proteus
