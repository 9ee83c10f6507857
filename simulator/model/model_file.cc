#include "simulator/model/model_file.h"

#include <filesystem>

#include "common/data_dir.h"
#include "common/error.h"
#include "common/suggest.h"
#include "simulator/model/hf_config.h"
#include "simulator/model/module_json.h"
#include "simulator/model/transformer.h"

namespace proteus {
namespace {

std::optional<int64_t> IntField(const JsonView& v, std::string_view key) {
  if (!v.Has(key)) return std::nullopt;
  return v.PositiveInt(key);
}

std::optional<double> NumField(const JsonView& v, std::string_view key) {
  if (!v.Has(key)) return std::nullopt;
  return v.Num(key);
}

std::optional<bool> BoolField(const JsonView& v, std::string_view key) {
  if (!v.Has(key)) return std::nullopt;
  return v.Bool(key);
}

Model FromHf(const JsonView& doc, const std::string& file, const ZooOptions& options) {
  JsonView hf = doc.At("hf_config");
  Json loaded;
  std::string origin = hf.Where();
  const Json* config = &hf.raw();
  if (hf.raw().is_string()) {
    std::filesystem::path p(hf.AsStr());
    if (p.is_relative()) p = std::filesystem::path(file).parent_path() / p;
    loaded = ReadJsonFile(p.string());
    config = &loaded;
    origin = p.string();
  } else if (!hf.IsObject()) {
    hf.Fail("expected an HF config object or the path of a config.json");
  }
  if (options.image_size) doc.At("overrides").FailField("image_size", "does not apply to a transformer");
  if (options.aux_logits) doc.At("overrides").FailField("aux_logits", "applies to inception-v3 only");
  TransformerConfig c = TransformerConfigFromHf(*config, origin);
  if (c.name.empty()) c.name = std::filesystem::path(file).stem().string();
  ApplyZooOptions(options, c);
  return BuildTransformer(c, doc.Has("overrides") ? doc.At("overrides").Where() : origin);
}

std::string NothingFound(const std::string& name) {
  if (LooksLikePath(name)) return "file not found: " + name;
  std::vector<std::string> known = ZooModelNames();
  for (const auto& f : DataNames("models", ".json")) known.push_back(f);
  std::string zoo;
  for (const auto& n : ZooModelNames()) zoo += (zoo.empty() ? "" : ", ") + n;
  std::string files = ListDataNames("models", ".json");
  return "'" + name + "' is neither a zoo model nor a model file; " + DidYouMean(name, known) + "zoo models: " + zoo +
         (files.empty() ? "" : "; model files in data/models: " + files);
}

}  // namespace

ZooOptions ParseZooOptions(const JsonView& v) {
  if (!v.IsObject()) v.Fail("expected an object of overrides");
  v.RejectUnknownKeys({"name", "dtype", "num_layers", "seq_len", "hidden", "num_heads", "num_kv_heads",
                       "ffn_hidden", "vocab", "vocab_pad_multiple", "image_size", "aux_logits", "fused_attention", "tied_embeddings", "dropout",
                       "moe_load_skew", "moe_capacity_factor"});
  ZooOptions o;
  if (v.Has("name")) o.name = v.Str("name");
  if (v.Has("dtype")) {
    auto d = ParseDType(v.Str("dtype"));
    if (!d || *d == DType::kInt32 || *d == DType::kInt64)
      v.FailField("dtype", "expected a float type: fp32, tf32, fp16, bf16, fp8_e4m3 or fp8_e5m2");
    o.dtype = *d;
  }
  o.num_layers = IntField(v, "num_layers");
  o.seq_len = IntField(v, "seq_len");
  o.hidden = IntField(v, "hidden");
  o.num_heads = IntField(v, "num_heads");
  o.num_kv_heads = IntField(v, "num_kv_heads");
  o.ffn_hidden = IntField(v, "ffn_hidden");
  o.vocab = IntField(v, "vocab");
  o.vocab_pad_multiple = IntField(v, "vocab_pad_multiple");
  o.image_size = IntField(v, "image_size");
  o.fused_attention = BoolField(v, "fused_attention");
  o.tied_embeddings = BoolField(v, "tied_embeddings");
  o.dropout = BoolField(v, "dropout");
  o.aux_logits = BoolField(v, "aux_logits");
  o.moe_load_skew = NumField(v, "moe_load_skew");
  o.moe_capacity_factor = NumField(v, "moe_capacity_factor");
  return o;
}

Model ModelFromDocument(const Json& doc, const std::string& file) {
  JsonView v(doc, file);
  v.RequireFormat("proteus.model", 1);
  int forms = v.Has("zoo") + v.Has("hf_config") + v.Has("root");
  if (forms != 1) v.Fail("expected exactly one of \"zoo\" (a zoo name), \"hf_config\" (an HF config) or \"root\" (a module tree)");
  if (v.Has("root")) return ModelFromJson(v);
  v.RejectUnknownKeys({"format", "zoo", "hf_config", "overrides"});
  ZooOptions options;
  if (v.Has("overrides")) options = ParseZooOptions(v.At("overrides"));
  if (v.Has("hf_config")) return FromHf(v, file, options);
  std::string name = v.Str("zoo");
  if (!IsZooModel(name)) BuildZooModel(name, options, v.WhereField("zoo"));  // throws, listing names
  return BuildZooModel(name, options, v.Has("overrides") ? v.At("overrides").Where() : v.WhereField("zoo"));
}

Model LoadModel(const std::string& name_or_path) {
  if (IsZooModel(name_or_path)) return BuildZooModel(name_or_path);
  auto path = ResolveDataFile("models", name_or_path, ".json");
  if (!path || std::filesystem::is_directory(*path)) throw UserError("model", NothingFound(name_or_path));
  Json doc = ReadJsonFile(*path);
  if (doc.is_object() && doc.contains("format")) return ModelFromDocument(doc, *path);
  if (LooksLikeHfConfig(doc)) return ModelFromHfConfig(doc, *path);
  throw UserError(*path, "neither a proteus.model/1 file (no \"format\") nor an HF config.json (no model_type, "
                         "hidden_size or n_embd)");
}

Model ModelDocumentWithSeqLen(Json doc, const std::string& file, int64_t seq_len, const std::string& flag) {
  if (doc.is_object() && doc.contains("root"))
    throw UserError(flag, file + " is a full module tree whose dims fix its sequence length; change them there");
  if (doc.is_object() && doc.contains("zoo") && doc["zoo"].is_string() && IsVisionModel(doc["zoo"].get<std::string>()))
    throw UserError(flag, "model " + doc["zoo"].get<std::string>() + " has no sequence (a vision model)");
  if (doc.is_object()) {
    if (!doc.contains("overrides")) doc["overrides"] = Json::object();
    if (doc["overrides"].is_object()) doc["overrides"]["seq_len"] = seq_len;  // else ModelFromDocument refuses it
  }
  return ModelFromDocument(doc, file);
}

Model LoadModelWithSeqLen(const std::string& name_or_path, int64_t seq_len, const std::string& flag) {
  if (IsVisionModel(name_or_path)) throw UserError(flag, "model " + name_or_path + " has no sequence (a vision model)");
  ZooOptions o;
  o.seq_len = seq_len;
  if (IsZooModel(name_or_path)) return BuildZooModel(name_or_path, o, flag);
  auto path = ResolveDataFile("models", name_or_path, ".json");
  if (!path || std::filesystem::is_directory(*path)) throw UserError("model", NothingFound(name_or_path));
  Json doc = ReadJsonFile(*path);
  if (doc.is_object() && doc.contains("format")) return ModelDocumentWithSeqLen(std::move(doc), *path, seq_len, flag);
  if (!LooksLikeHfConfig(doc))
    throw UserError(*path, "neither a proteus.model/1 file (no \"format\") nor an HF config.json (no model_type, "
                           "hidden_size or n_embd)");
  // As ModelFromHfConfig (same name), with the sequence replaced.
  TransformerConfig c = TransformerConfigFromHf(doc, *path);
  if (c.name.empty()) c.name = *path;
  ApplyZooOptions(o, c);
  return BuildTransformer(c, flag);
}

}  // namespace proteus
