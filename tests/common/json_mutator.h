// Deterministic mutations of valid JSON documents, for the reader fuzz tests
// (tests/common/json_fuzz_test.cc, tests/cost/gpu_spec_fuzz_test.cc, tests/strategy/, tests/model/,
// tests/topo/, tests/cli/*_fuzz_test.cc).
//
// Tree mutations change one node of a parsed document: swap its type (string, negative, zero,
// huge, 2^31 and 2^32 (int truncation), NaN, infinity, null, bool, array, object), delete or duplicate an object member, rename a
// member, wrap the node in an array. Text mutations damage the serialized bytes: flip a byte,
// truncate, insert a random character, splice a token ("1e400", "-", "\"", "]", ...) in. The seed
// decides everything, so a failing input is reproduced by its iteration number.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"

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

  /// `doc` with 1..3 mutations, each a tree mutation, a splice (a copy of one node of the document
  /// replaces another) or an integer nudge.
  nlohmann::json MutateDeep(nlohmann::json doc) {
    int n = 1 + Pick(3);
    for (int i = 0; i < n; ++i) {
      switch (Pick(3)) {
        case 0: MutateNode(RandomNode(doc)); break;
        case 1: { nlohmann::json from = RandomNode(doc); RandomNode(doc) = std::move(from); break; }
        default: Nudge(RandomNode(doc)); break;
      }
    }
    return doc;
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

  // An integer becomes a near value; an object or array nudges one of its members.
  void Nudge(nlohmann::json& node) {
    nlohmann::json* n = &node;
    while ((n->is_object() || n->is_array()) && !n->empty()) {
      auto it = n->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(Pick(n->size())));
      n = &*it;
    }
    if (!n->is_number_integer()) return MutateNode(*n);
    int64_t v = n->get<int64_t>();
    if (v > (int64_t{1} << 40) || v < -(int64_t{1} << 40)) v = 1;  // keep the arithmetic below exact
    switch (Pick(6)) {
      case 0: *n = v + 1; break;
      case 1: *n = v - 1; break;
      case 2: *n = v * 2; break;
      case 3: *n = v / 2; break;
      case 4: *n = -v; break;
      default: *n = v * 1000; break;
    }
  }

  std::mt19937_64 rng_;
};

/// `n` iterations, times the integer in PROTEUS_FUZZ_SCALE when set (a longer soak run outside CI:
/// PROTEUS_FUZZ_SCALE=50 ctest -R fuzz). The same seeds, so a soak failure replays.
inline int FuzzIterations(int n) {
  const char* scale = std::getenv("PROTEUS_FUZZ_SCALE");
  int k = scale ? std::atoi(scale) : 1;
  return k > 1 ? n * k : n;
}

/// Runs `read`; "" when it returned or threw UserError, else the type and message of what escaped
/// (another exception type is a reader bug: bad input must be reported as UserError).
inline std::string Escaped(const std::function<void()>& read) {
  try {
    read();
  } catch (const UserError&) {
  } catch (const std::exception& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "non-standard exception";
  }
  return "";
}

/// The document as one line, for failure messages (invalid UTF-8 replaced).
inline std::string Show(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Feeds `read` the valid document, then `iterations` rounds of a tree, a deep and a text mutation
/// of it (text goes through ParseJson as "fuzz.json"). Returns "" when every call returned or threw
/// UserError (the valid document must not throw at all); else the first failure with its iteration
/// and input, so it can be replayed. `stats`, if given, counts the mutated documents read and
/// rejected (a fuzz test that rejects everything reaches nothing past the first check).
struct FuzzStats {
  int accepted = 0;  // mutated documents `read` returned from
  int rejected = 0;  // mutated documents it threw UserError for
};

inline std::string FuzzJsonReader(const nlohmann::json& valid, uint64_t seed, int iterations,
                                  const std::function<void(const nlohmann::json&)>& read,
                                  FuzzStats* stats = nullptr) {
  FuzzStats local;
  FuzzStats& st = stats ? *stats : local;
  auto counted = [&](const std::function<void()>& f) {
    return Escaped([&] {
      try {
        f();
        ++st.accepted;
      } catch (const UserError&) {
        ++st.rejected;
        throw;
      }
    });
  };
  try {
    read(valid);
  } catch (const std::exception& e) {
    return std::string("the valid document is rejected: ") + e.what() + "\ninput: " + Show(valid);
  }
  JsonMutator mut(seed);
  iterations = FuzzIterations(iterations);
  for (int i = 0; i < iterations; ++i) {
    nlohmann::json tree = mut.MutateTree(valid);
    if (std::string e = counted([&] { read(tree); }); !e.empty())
      return "iteration " + std::to_string(i) + " (tree): " + e + "\ninput: " + Show(tree);
    nlohmann::json deep = mut.MutateDeep(valid);
    if (std::string e = counted([&] { read(deep); }); !e.empty())
      return "iteration " + std::to_string(i) + " (deep): " + e + "\ninput: " + Show(deep);
    std::string text = mut.MutateText(valid);
    if (std::string e = counted([&] { read(ParseJson(text, "fuzz.json")); }); !e.empty())
      return "iteration " + std::to_string(i) + " (text): " + e + "\ninput: " + text;
  }
  return "";
}

}  // namespace proteus::fuzz
