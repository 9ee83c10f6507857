#include "simulator/cost/gpu_family.h"

#include <cctype>

namespace proteus {

std::string GpuFamily(std::string_view name) {
  auto is_sep = [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); };
  size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && is_sep(name[i])) ++i;
    size_t j = i;
    while (j < name.size() && !is_sep(name[j])) ++j;
    std::string_view word = name.substr(i, j - i);
    size_t digits = 0;
    while (1 + digits < word.size() && std::isdigit(static_cast<unsigned char>(word[1 + digits]))) ++digits;
    bool tail_ok = word.size() == 1 + digits || (word.size() == 2 + digits && std::isalpha(static_cast<unsigned char>(word.back())));
    if (word.size() >= 3 && std::isalpha(static_cast<unsigned char>(word[0])) && digits >= 2 && digits <= 3 && tail_ok) {
      std::string out(word);
      for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return out;
    }
    i = j;
  }
  return "";
}

bool SameGpuFamily(std::string_view a, std::string_view b) {
  std::string fa = GpuFamily(a), fb = GpuFamily(b);
  return fa.empty() || fb.empty() || fa == fb;
}

}  // namespace proteus
