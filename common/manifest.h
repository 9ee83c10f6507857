// The measurement manifest (proteus.manifest/1): operators a simulation had to estimate without a
// measurement. proteus-sim writes it (--emit-manifest), proteus-profile ops --manifest reads it.
#pragma once

#include <string>
#include <vector>

#include "common/json_file.h"
#include "common/op_key.h"

namespace proteus {

struct Manifest {
  std::string device;          // GPU the simulation assumed ("H100-SXM5-80GB"), informational
  std::vector<OpKey> ops;      // unique, sorted

  Json ToJson() const;
  static Manifest FromJson(const Json& doc, const std::string& origin);
  static Manifest Load(const std::string& path);
  void Save(const std::string& path) const;
};

/// OpKey <-> JSON object {"kind", "dtype", "phase", "shape": {...}, "attrs": {...}}; shared by the
/// manifest and the cost database.
Json OpKeyToJson(const OpKey& key);
OpKey OpKeyFromJson(const JsonView& v);

}  // namespace proteus
