// A whole model as JSON: the "full module tree" form of proteus.model/1 (docs/formats.md, Model),
// also what `--dump-model` style tools print. Round-trips: ModelFromJson(ModelToJson(m)) == m.
//
//   {"format": "proteus.model/1", "name": "tiny", "seq_len": 8, "hidden": 4, "dtype": "bf16",
//    "root": {"name": "", "type": "model", "children": [
//      {"name": "lm_head", "type": "lm_head", "ops": [
//        {"name": "logits", "kind": "linear", "flops_per_point": 2,
//         "dims": [{"name": "b", "kind": "batch", "size": 1}, {"name": "s", "kind": "batch", "size": 8},
//                  {"name": "h", "kind": "reduce", "size": 4}, {"name": "v", "kind": "spatial", "size": 16}],
//         "tensors": [{"name": "x", "role": "input", "axes": ["b", "s", "h"], "needs_grad": false},
//                     {"name": "lm_head.logits.weight", "role": "weight", "axes": ["v", "h"]},
//                     {"name": "lm_head.logits.out", "role": "output", "axes": ["b", "s", "v"]}]}]}]}}
#pragma once

#include <string>

#include "common/json_file.h"
#include "simulator/model/module.h"

namespace proteus {

/// The model as a proteus.model/1 document (full module tree form).
Json ModelToJson(const Model& model);
/// Reads a model object (the members above; "format" is checked by the caller). Every field error
/// names the file and the JSON path ("m.json: root.children[1].ops[0].dims[2].size"). Checks that
/// dims are positive and unique per op, tensor and saved axes name dims of their op, and names
/// are non-empty. num_layers is the number of children of the "layers" module.
Model ModelFromJson(const JsonView& doc);

}  // namespace proteus
