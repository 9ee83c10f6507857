// Deterministic mutations of valid JSON documents, for the reader fuzz tests
// (tests/common/json_fuzz_test.cc, tests/cost/gpu_spec_fuzz_test.cc).
//
// Tree mutations change one node of a parsed document: swap its type (string, negative, zero,
// huge, 2^31 and 2^32 (int truncation), NaN, infinity, null, bool, array, object), delete or duplicate an object member, rename a
// member, wrap the node in an array. Text mutations damage the serialized bytes: flip a byte,
// truncate, insert a random character, splice a token ("1e400", "-", "\"", "]", ...) in. The seed
// decides everything, so a failing input is reproduced by its iteration number.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace proteus::fuzz {

class JsonMutator {
 public:
  explicit JsonMutator(uint64_t seed) : rng_(seed) {}

  /// `doc` with 1..3 tree mutations applied.
  nlohmann::json MutateTree(nlohmann::json doc) {
    int n = 1 + Pick(3);
    for (int i = 0; i < n; ++i) MutateNode(RandomNode(doc));
    return doc;
  }

  /// The text of `doc` with one byte-level mutation.
  std::string MutateText(const nlohmann::json& doc) {
    std::string text = doc.dump(Pick(2) ? 2 : -1);
    if (text.empty()) return text;
    size_t pos = Pick(text.size());
    switch (Pick(4)) {
      case 0: text[pos] = static_cast<char>(Pick(256)); break;
      case 1: text.resize(pos); break;
      case 2: text.insert(pos, 1, static_cast<char>(32 + Pick(95))); break;
      default: {
        static const char* kTokens[] = {"1e400", "-1e400", "-", "\"", "]", "}", ",", ":", "nul", "18446744073709551616",
                                        "-9223372036854775809", "0.0000001e-400", "\\u0000", "\\ud800", "[[[[", "{\"\":"};
        text.insert(pos, kTokens[Pick(std::size(kTokens))]);
      }
    }
    return text;
  }

  size_t Pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

 private:
  // A uniformly chosen node of the tree (by a random walk that may stop at any depth).
  nlohmann::json& RandomNode(nlohmann::json& root) {
    nlohmann::json* node = &root;
    while ((node->is_object() || node->is_array()) && !node->empty() && Pick(3) != 0) {
      size_t i = Pick(node->size());
      auto it = node->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(i));
      node = &*it;
    }
    return *node;
  }

  nlohmann::json RandomValue() {
    switch (Pick(16)) {
      case 14: return int64_t{1} << 32;   // truncates to 0 as an int
      case 15: return int64_t{1} << 31;   // one past INT_MAX
      case 0: return "x";
      case 1: return -1;
      case 2: return 0;
      case 3: return 1e308;
      case 4: return -1e308;
      case 5: return std::numeric_limits<double>::quiet_NaN();
      case 6: return std::numeric_limits<double>::infinity();
      case 7: return std::numeric_limits<int64_t>::max();
      case 8: return std::numeric_limits<uint64_t>::max();
      case 9: return nullptr;
      case 10: return true;
      case 11: return nlohmann::json::array();
      case 12: return nlohmann::json::object();
      default: return 0.5;
    }
  }

  void MutateNode(nlohmann::json& node) {
    if (node.is_object() && !node.empty()) {
      auto it = node.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(Pick(node.size())));
      std::string key = it.key();
      switch (Pick(4)) {
        case 0: node.erase(key); return;
        case 1: node[key + "_dup"] = *it; return;            // an unknown extra member
        case 2: { nlohmann::json v = *it; node.erase(key); node[key.empty() ? "k" : key.substr(1)] = v; return; }
        default: *it = RandomValue(); return;
      }
    }
    if (node.is_array() && !node.empty() && Pick(2)) {
      size_t i = Pick(node.size());
      if (Pick(2)) node.erase(i);
      else node.push_back(node[i]);                        // a duplicated element
      return;
    }
    if (Pick(5) == 0) {
      node = nlohmann::json::array({node});
      return;
    }
    node = RandomValue();
  }

  std::mt19937_64 rng_;
};

}  // namespace proteus::fuzz
