#include "simulator/model/classic_cnn.h"

#include <array>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "simulator/model/cnn_builder.h"

namespace proteus {
namespace {

constexpr int64_t kClasses = 1000;  // ImageNet-1k
constexpr int64_t kMaxPool = 0;     // marks a max pool in a VGG configuration

// VGG configurations D and E: Simonyan & Zisserman 2015, Table 1 (torchvision cfgs "D", "E").
constexpr std::array<int64_t, 18> kVgg16 = {64, 64, kMaxPool, 128, 128, kMaxPool, 256, 256, 256, kMaxPool,
                                            512, 512, 512, kMaxPool, 512, 512, 512, kMaxPool};
constexpr std::array<int64_t, 21> kVgg19 = {64, 64, kMaxPool, 128, 128, kMaxPool, 256, 256, 256, 256, kMaxPool,
                                            512, 512, 512, 512, kMaxPool, 512, 512, 512, 512, kMaxPool};

// One block: conv (with bias) -> ReLU [-> max pool].
struct BlockSpec {
  ConvSpec conv;
  int64_t pool_window = 0, pool_stride = 0;  // 0: no pool after this block
};

Module Block(CnnBuilder& bld, int index, Fmap& x, const BlockSpec& spec) {
  std::string p = "layers." + std::to_string(index);
  Module m{std::to_string(index), "conv_block", {}, {}};
  x = bld.Conv(m, p + ".conv", "conv", x, spec.conv);
  x = bld.Relu(m, p + ".relu", "relu", x);
  if (spec.pool_window > 0) x = bld.Pool(m, p + ".maxpool", "maxpool", x, "max", spec.pool_window, spec.pool_stride, 0);
  return m;
}

std::vector<BlockSpec> AlexNetBlocks() {
  // torchvision alexnet.features.
  return {{ConvSpec{64, 11, 11, 4, 2, 2, true}, 3, 2},
          {Square(192, 5, 1, 2, true), 3, 2},
          {Square(384, 3, 1, 1, true)},
          {Square(256, 3, 1, 1, true)},
          {Square(256, 3, 1, 1, true), 3, 2}};
}

template <size_t N>
std::vector<BlockSpec> VggBlocks(const std::array<int64_t, N>& cfg) {
  std::vector<BlockSpec> blocks;
  for (int64_t v : cfg) {
    if (v == kMaxPool) {
      blocks.back().pool_window = 2;
      blocks.back().pool_stride = 2;
    } else {
      blocks.push_back({Square(v, 3, 1, 1, true)});
    }
  }
  return blocks;
}

// AlexNet: dropout, fc, relu, dropout, fc, relu, fc. VGG: fc, relu, dropout, fc, relu, dropout, fc.
Features Classifier(CnnBuilder& bld, Module& head, const Fmap& x, bool alexnet) {
  Fmap in = alexnet ? bld.Dropout(head, "head.dropout0", "dropout0", x) : x;
  Features f = bld.Linear(head, "head.fc1", "fc1", in, 4096);
  f = bld.Relu(head, "head.relu1", "relu1", f);
  f = bld.Dropout(head, "head.dropout1", "dropout1", f);
  f = bld.Linear(head, "head.fc2", "fc2", f, 4096);
  f = bld.Relu(head, "head.relu2", "relu2", f);
  if (!alexnet) f = bld.Dropout(head, "head.dropout2", "dropout2", f);
  return bld.Linear(head, "head.fc3", "fc3", f, kClasses);
}

}  // namespace

std::vector<std::string> ClassicCnnNames() { return {"alexnet", "vgg16", "vgg19"}; }

bool IsClassicCnn(const std::string& name) { return name == "alexnet" || name == "vgg16" || name == "vgg19"; }

Model BuildClassicCnn(const std::string& name, const ZooOptions& options, const std::string& origin) {
  PROTEUS_CHECK(IsClassicCnn(name), "BuildClassicCnn called with " + name);
  bool alexnet = name == "alexnet";
  RejectTransformerOptions(options, origin, alexnet ? "AlexNet" : "a VGG");
  // Minimums: the smallest size whose last max pool still gets a map at least its window
  // (AlexNet: 63 -> 15 -> 7 -> 3 -> 1; VGG: 32 halved five times).
  int64_t image = alexnet ? CheckedImageSize(options, origin, name, 224, 63, "its last 3x3 max pool needs a 3x3 map")
                          : CheckedImageSize(options, origin, name, 224, 32, "five 2x2 max pools");
  CnnBuilder bld(options.dtype.value_or(DType::kFp32), origin);
  std::vector<BlockSpec> blocks =
      alexnet ? AlexNetBlocks() : name == "vgg16" ? VggBlocks(kVgg16) : VggBlocks(kVgg19);

  Model model;
  model.name = options.name.value_or(name);
  model.root = Module{"", "model", {}, {}};
  Module layers{"layers", "layers", {}, {}};
  Fmap x{"input.images", 3, image};
  for (size_t i = 0; i < blocks.size(); ++i) layers.children.push_back(Block(bld, static_cast<int>(i), x, blocks[i]));
  model.root.children.push_back(std::move(layers));
  Module head{"head", "head", {}, {}};
  x = bld.AdaptiveAvgPool(head, "head.avgpool", "avgpool", x, alexnet ? 6 : 7);
  Features logits = Classifier(bld, head, x, alexnet);
  model.root.children.push_back(std::move(head));
  Module loss{"loss", "loss", {}, {}};
  bld.CrossEntropy(loss, "loss.cross_entropy", "cross_entropy", logits);
  model.root.children.push_back(std::move(loss));

  model.num_layers = static_cast<int64_t>(blocks.size());
  model.dtype = bld.dt();
  model.family = alexnet ? "alexnet" : "vgg";
  model.image_size = image;
  return model;
}

}  // namespace proteus
