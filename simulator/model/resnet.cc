#include "simulator/model/resnet.h"

#include <array>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "simulator/model/cnn_builder.h"

namespace proteus {
namespace {

// Bottleneck blocks per stage: He et al. 2016, Table 1.
struct ResNetEntry {
  std::string_view name;
  std::array<int, 4> blocks;
};
constexpr std::array<ResNetEntry, 3> kResNets = {{
    {"resnet50", {3, 4, 6, 3}}, {"resnet101", {3, 4, 23, 3}}, {"resnet152", {3, 8, 36, 3}},
}};
constexpr int64_t kClasses = 1000;  // ImageNet-1k

// One bottleneck: 1x1 (width) -> 3x3 (width, stride) -> 1x1 (4 x width), projection shortcut when
// the shape changes.
Module Bottleneck(CnnBuilder& bld, int index, Fmap& x, int64_t width, int64_t stride) {
  std::string p = "layers." + std::to_string(index);
  Module m{std::to_string(index), "resnet_block", {}, {}};
  Fmap h = bld.Conv(m, p + ".conv1", "conv1", x, Square(width, 1));
  h = bld.Relu(m, p + ".relu1", "relu1", bld.BatchNorm(m, p + ".bn1", "bn1", h));
  h = bld.Conv(m, p + ".conv2", "conv2", h, Square(width, 3, stride, 1));
  h = bld.Relu(m, p + ".relu2", "relu2", bld.BatchNorm(m, p + ".bn2", "bn2", h));
  h = bld.Conv(m, p + ".conv3", "conv3", h, Square(4 * width, 1));
  h = bld.BatchNorm(m, p + ".bn3", "bn3", h);
  Fmap shortcut = x;
  if (stride != 1 || x.channels != 4 * width) {
    shortcut = bld.Conv(m, p + ".downsample", "downsample", x, Square(4 * width, 1, stride));
    shortcut = bld.BatchNorm(m, p + ".downsample_bn", "downsample_bn", shortcut);
  }
  x = bld.Relu(m, p + ".relu", "relu", bld.Add(m, p + ".add", h, shortcut));
  return m;
}

// Global average pool to [b, k], fc to the classes, softmax cross-entropy (fp32).
std::vector<Module> Head(CnnBuilder& bld, const Fmap& x) {
  Module head{"head", "head", {}, {}};
  Features f = bld.GlobalAvgPool(head, "head.avgpool", "avgpool", x);
  f = bld.Linear(head, "head.fc", "fc", f, kClasses);
  Module loss{"loss", "loss", {}, {}};
  bld.CrossEntropy(loss, "loss.cross_entropy", "cross_entropy", f);
  return {std::move(head), std::move(loss)};
}

}  // namespace

std::vector<std::string> ResNetNames() {
  std::vector<std::string> names;
  for (const auto& e : kResNets) names.emplace_back(e.name);
  return names;
}

bool IsResNet(const std::string& name) {
  for (const auto& e : kResNets)
    if (e.name == name) return true;
  return false;
}

Model BuildResNet(const std::string& name, const ZooOptions& options, const std::string& origin) {
  const ResNetEntry* entry = nullptr;
  for (const auto& e : kResNets)
    if (e.name == name) entry = &e;
  PROTEUS_CHECK(entry != nullptr, "BuildResNet called with a non-ResNet name " + name);
  RejectTransformerOptions(options, origin, "a ResNet");
  int64_t image = CheckedImageSize(options, origin, name, 224, 32, "five stride-2 steps");
  CnnBuilder bld(options.dtype.value_or(DType::kFp32), origin);

  Model model;
  model.name = options.name.value_or(name);
  model.root = Module{"", "model", {}, {}};
  Module stem{"stem", "stem", {}, {}};
  Fmap x{"input.images", 3, image};
  x = bld.Conv(stem, "stem.conv1", "conv1", x, Square(64, 7, 2, 3));
  x = bld.Relu(stem, "stem.relu", "relu", bld.BatchNorm(stem, "stem.bn1", "bn1", x));
  x = bld.Pool(stem, "stem.maxpool", "maxpool", x, "max", 3, 2, 1);
  model.root.children.push_back(std::move(stem));

  Module layers{"layers", "layers", {}, {}};
  int index = 0;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t width = int64_t{64} << stage;
    for (int i = 0; i < entry->blocks[stage]; ++i)
      layers.children.push_back(Bottleneck(bld, index++, x, width, (i == 0 && stage > 0) ? 2 : 1));
  }
  model.root.children.push_back(std::move(layers));
  for (auto& m : Head(bld, x)) model.root.children.push_back(std::move(m));

  model.num_layers = index;
  model.dtype = bld.dt();
  model.family = "resnet";
  model.image_size = image;
  return model;
}

}  // namespace proteus
