#include "common/manifest.h"

#include <algorithm>

namespace proteus {

Json OpKeyToJson(const OpKey& key) {
  Json j = {{"kind", key.kind}, {"dtype", DTypeName(key.dtype)}, {"phase", PhaseName(key.phase)},
            {"shape", key.shape}};
  if (!key.attrs.empty()) j["attrs"] = key.attrs;
  return j;
}

OpKey OpKeyFromJson(const JsonView& v) {
  OpKey key;
  key.kind = v.Str("kind");
  auto d = ParseDType(v.Str("dtype"));
  if (!d) v.FailField("dtype", "unknown dtype \"" + v.Str("dtype") + "\"");
  key.dtype = *d;
  auto p = ParsePhase(v.Str("phase"));
  if (!p) v.FailField("phase", "expected fwd, bwd_data, bwd_weight or step");
  key.phase = *p;
  JsonView shape = v.At("shape");
  if (!shape.IsObject()) shape.Fail("expected an object of shape parameters");
  for (auto it = shape.raw().begin(); it != shape.raw().end(); ++it) key.shape[it.key()] = shape.Int(it.key());
  if (auto attrs = v.Find("attrs")) {
    if (!attrs->IsObject()) attrs->Fail("expected an object");
    for (auto it = attrs->raw().begin(); it != attrs->raw().end(); ++it) key.attrs[it.key()] = attrs->Str(it.key());
  }
  if (auto err = ValidateOpKey(key)) v.Fail(*err);
  return key;
}

Json Manifest::ToJson() const {
  Json ops_json = Json::array();
  for (const auto& k : ops) ops_json.push_back(OpKeyToJson(k));
  return {{"format", "proteus.manifest/1"}, {"device", device}, {"ops", ops_json}};
}

Manifest Manifest::FromJson(const Json& doc, const std::string& origin) {
  JsonView root(doc, origin);
  root.RequireFormat("proteus.manifest", 1);
  Manifest m;
  m.device = root.StrOr("device", "");
  JsonView ops = root.At("ops");
  for (size_t i = 0; i < ops.Size(); ++i) m.ops.push_back(OpKeyFromJson(ops.At(i)));
  std::sort(m.ops.begin(), m.ops.end());
  m.ops.erase(std::unique(m.ops.begin(), m.ops.end()), m.ops.end());
  return m;
}

Manifest Manifest::Load(const std::string& path) { return FromJson(ReadJsonFile(path), path); }
void Manifest::Save(const std::string& path) const { WriteJsonFile(path, ToJson()); }

}  // namespace proteus
