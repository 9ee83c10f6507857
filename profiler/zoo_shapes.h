// The model shapes the default sweep covers. The profiler may not include simulator/ (layering), so
// it keeps its own table of the dimensions that decide operator shapes; the simulator's zoo is the
// authority on everything else (layers, parameter counts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace proteus::profiler {

/// A transformer's per-layer dimensions.
struct TransformerShape {
  std::string name;
  int64_t hidden = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0;
  bool swiglu = false;     // gated MLP (fc1 writes 2*ffn), RMSNorm, rotary embeddings (Llama)
  bool causal = true;      // false for encoders (BERT)
  int64_t head_dim() const { return hidden / heads; }
};

/// A convolution layer of a CNN, NCHW, batch left out.
struct ConvShape {
  int64_t c, h, w, k, r, s, stride, pad;
};

/// GPT-2, GPT-3, Megatron-LM SC'21, Llama 2, Llama 3, BERT (sources in zoo_shapes.cc).
const std::vector<TransformerShape>& TransformerZoo();
/// The distinct convolutions of ResNet-50 (He et al. 2016, torchvision layout) at 224x224.
const std::vector<ConvShape>& ResNet50Convs();

/// Vocabulary per tensor-parallel rank as Megatron-LM pads it: a multiple of 128 * tp, split tp ways.
/// E.g. 50257 at tp 8 -> 51200 / 8 = 6400.
int64_t PaddedVocabPerRank(int64_t vocab, int64_t tp);

}  // namespace proteus::profiler
