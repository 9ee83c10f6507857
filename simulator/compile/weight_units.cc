#include "simulator/compile/weight_units.h"

#include <cctype>

namespace proteus {
namespace {

bool Numeric(const std::string& part) {
  if (part.empty()) return false;
  for (char c : part)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string GatherUnitOf(const std::string& op_path, GatherUnit unit) {
  if (unit == GatherUnit::kOperator) return op_path;
  size_t first = op_path.find('.');
  if (first == std::string::npos) return op_path;
  size_t second = op_path.find('.', first + 1);
  std::string next = op_path.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  // A numbered block ("layers.7") is its own unit; any other top-level module is one unit.
  return Numeric(next) && second != std::string::npos ? op_path.substr(0, second) : op_path.substr(0, first);
}

}  // namespace proteus
