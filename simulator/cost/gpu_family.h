// Which GPU a device name speaks of, so a database measured on one GPU is not used silently for
// another: the model token of a name ("A100", "H100", "H200", "V100", "B200", "L40S", ...), the
// first word of the form letter + 2-3 digits + optional letter, upper-cased.
//   GpuFamily("NVIDIA H100 80GB HBM3") == "H100";  GpuFamily("A100-SXM4-80GB") == "A100"
#pragma once

#include <string>
#include <string_view>

namespace proteus {

/// The model token of `device_name`, or "" when it has none.
std::string GpuFamily(std::string_view device_name);

/// False only when both names have a model token and the tokens differ.
bool SameGpuFamily(std::string_view a, std::string_view b);

}  // namespace proteus
