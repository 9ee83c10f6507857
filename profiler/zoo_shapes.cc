#include "profiler/zoo_shapes.h"

namespace proteus::profiler {

// Sources:
//   GPT-2: Radford et al. 2019, Table 2 and the released configs (n_embd, n_head, vocab 50257).
//   GPT-3: Brown et al. 2020, Table 2.1 (d_model, n_heads, d_ff = 4 d_model); 1.3B with 16 heads
//          of 128 as in Megatron-LM's GPT-3 configs.
//   Megatron-LM SC'21: Narayanan et al. 2021, Table 1 (hidden, heads; vocab 51,200).
//   Llama 2: Touvron et al. 2023 and the released config.json (hidden, heads, kv heads, ffn).
//   Llama 3: Llama 3 herd paper (Dubey et al. 2024), Table 3 (vocab 128,256, 8 kv heads).
//   BERT: Devlin et al. 2019 (base 768/12, large 1024/16; vocab 30,522).
const std::vector<TransformerShape>& TransformerZoo() {
  static const std::vector<TransformerShape> kZoo = {
      {"gpt2", 768, 12, 12, 3072, 50257, false, true},
      {"gpt2-medium", 1024, 16, 16, 4096, 50257, false, true},
      {"gpt2-large", 1280, 20, 20, 5120, 50257, false, true},
      {"gpt2-xl", 1600, 25, 25, 6400, 50257, false, true},
      {"gpt3-760m", 1536, 16, 16, 6144, 50257, false, true},
      {"gpt3-1.3b", 2048, 16, 16, 8192, 50257, false, true},
      {"gpt3-2.7b", 2560, 32, 32, 10240, 50257, false, true},
      {"gpt3-6.7b", 4096, 32, 32, 16384, 50257, false, true},
      {"gpt3-13b", 5120, 40, 40, 20480, 50257, false, true},
      {"gpt3-175b", 12288, 96, 96, 49152, 50257, false, true},
      {"megatron-1.7b", 2304, 24, 24, 9216, 51200, false, true},
      {"megatron-3.6b", 3072, 32, 32, 12288, 51200, false, true},
      {"megatron-7.5b", 4096, 32, 32, 16384, 51200, false, true},
      {"megatron-18.4b", 6144, 48, 48, 24576, 51200, false, true},
      {"megatron-39.1b", 8192, 64, 64, 32768, 51200, false, true},
      {"megatron-76.1b", 10240, 80, 80, 40960, 51200, false, true},
      {"megatron-145.6b", 12288, 96, 96, 49152, 51200, false, true},
      {"megatron-310.1b", 16384, 128, 128, 65536, 51200, false, true},
      {"megatron-529.6b", 20480, 128, 128, 81920, 51200, false, true},
      {"megatron-1t", 25600, 160, 160, 102400, 51200, false, true},
      {"llama2-7b", 4096, 32, 32, 11008, 32000, true, true},
      {"llama2-13b", 5120, 40, 40, 13824, 32000, true, true},
      {"llama2-70b", 8192, 64, 8, 28672, 32000, true, true},
      {"llama3-8b", 4096, 32, 8, 14336, 128256, true, true},
      {"llama3-70b", 8192, 64, 8, 28672, 128256, true, true},
      {"llama3-405b", 16384, 128, 8, 53248, 128256, true, true},
      {"bert-base", 768, 12, 12, 3072, 30522, false, false},
      {"bert-large", 1024, 16, 16, 4096, 30522, false, false},
  };
  return kZoo;
}

// ResNet-50 v1.5 (torchvision): stem 7x7/2, then bottlenecks (1x1, 3x3 with the stride, 1x1) and a
// 1x1 projection on the first block of each stage. Distinct (c, h, w, k, r, s, stride, pad) only.
const std::vector<ConvShape>& ResNet50Convs() {
  static const std::vector<ConvShape> kConvs = {
      {3, 224, 224, 64, 7, 7, 2, 3},
      // conv2_x at 56x56
      {64, 56, 56, 64, 1, 1, 1, 0}, {64, 56, 56, 64, 3, 3, 1, 1}, {64, 56, 56, 256, 1, 1, 1, 0},
      {256, 56, 56, 64, 1, 1, 1, 0},
      // conv3_x: first block strides in the 3x3 (v1.5), projection 1x1/2
      {256, 56, 56, 128, 1, 1, 1, 0}, {128, 56, 56, 128, 3, 3, 2, 1}, {256, 56, 56, 512, 1, 1, 2, 0},
      {128, 28, 28, 512, 1, 1, 1, 0}, {512, 28, 28, 128, 1, 1, 1, 0}, {128, 28, 28, 128, 3, 3, 1, 1},
      // conv4_x
      {512, 28, 28, 256, 1, 1, 1, 0}, {256, 28, 28, 256, 3, 3, 2, 1}, {512, 28, 28, 1024, 1, 1, 2, 0},
      {256, 14, 14, 1024, 1, 1, 1, 0}, {1024, 14, 14, 256, 1, 1, 1, 0}, {256, 14, 14, 256, 3, 3, 1, 1},
      // conv5_x
      {1024, 14, 14, 512, 1, 1, 1, 0}, {512, 14, 14, 512, 3, 3, 2, 1}, {1024, 14, 14, 2048, 1, 1, 2, 0},
      {512, 7, 7, 2048, 1, 1, 1, 0}, {2048, 7, 7, 512, 1, 1, 1, 0}, {512, 7, 7, 512, 3, 3, 1, 1},
  };
  return kConvs;
}

int64_t PaddedVocabPerRank(int64_t vocab, int64_t tp) {
  int64_t multiple = 128 * tp;
  return (vocab + multiple - 1) / multiple * multiple / tp;
}

}  // namespace proteus::profiler
