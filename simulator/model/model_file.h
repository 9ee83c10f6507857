// Loading models: a zoo name, a proteus.model/1 file, or a Hugging Face config.json.
//
// proteus.model/1 holds exactly one of (docs/formats.md, Model):
//   {"format": "proteus.model/1", "zoo": "gpt3-175b", "overrides": {"num_layers": 48, "seq_len": 4096}}
//   {"format": "proteus.model/1", "hf_config": {...} | "config.json", "overrides": {...}}
//   {"format": "proteus.model/1", "name": ..., "root": {...}}           (a full module tree)
// A relative hf_config path is resolved against the model file's folder.
#pragma once

#include <string>

#include "common/json_file.h"
#include "simulator/model/module.h"
#include "simulator/model/zoo.h"

namespace proteus {

/// `name_or_path`: a zoo name; else a file (as given, or data/models/<name>[.json]) holding
/// proteus.model/1 or an HF config.json. UserError naming the file and field on bad input, or
/// listing zoo names and shipped model files when nothing matches.
Model LoadModel(const std::string& name_or_path);

/// Parses a proteus.model/1 document read from `file` (used in errors and to resolve paths).
Model ModelFromDocument(const Json& doc, const std::string& file);

/// LoadModel with the sequence length replaced by `seq_len` (the `--seq-len` flag): a zoo name, a
/// proteus.model/1 file of the zoo or hf_config form (over its own overrides), or an HF config.json.
/// UserError naming `flag` for a module-tree file (its dims are fixed) or a model without a
/// sequence (ResNet).
Model LoadModelWithSeqLen(const std::string& name_or_path, int64_t seq_len, const std::string& flag);

/// ModelFromDocument with the sequence length replaced, as LoadModelWithSeqLen.
Model ModelDocumentWithSeqLen(Json doc, const std::string& file, int64_t seq_len, const std::string& flag);

/// Reads an "overrides" object: name, dtype, num_layers, seq_len, hidden, num_heads, num_kv_heads,
/// ffn_hidden, vocab, image_size (positive integers), fused_attention, tied_embeddings, dropout.
ZooOptions ParseZooOptions(const JsonView& overrides);

}  // namespace proteus
