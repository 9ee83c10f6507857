// AlexNet, VGG and Inception-v3 against torchvision's parameter counts and hand-computed FLOPs
// (the per-layer arithmetic is in simulator/model/classic_cnn.h and inception.h).
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "simulator/model/inception.h"
#include "simulator/model/zoo.h"

namespace proteus {
namespace {

std::string ErrorOf(const std::string& name, const ZooOptions& o) {
  try {
    BuildZooModel(name, o, "m.json: overrides");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

ZooOptions Image(int64_t size) {
  ZooOptions o;
  o.image_size = size;
  return o;
}

TEST(CnnZoo, ParamsMatchTorchvision) {
  EXPECT_EQ(BuildZooModel("alexnet").Params(), 61100840);     // torchvision alexnet
  EXPECT_EQ(BuildZooModel("vgg16").Params(), 138357544);      // torchvision vgg16
  EXPECT_EQ(BuildZooModel("vgg19").Params(), 143667240);      // torchvision vgg19
  EXPECT_EQ(BuildZooModel("inception-v3").Params(), 27161264);  // torchvision inception_v3 (aux_logits=True)
}

TEST(CnnZoo, AlexNetForwardFlopsByHand) {
  Model m = BuildZooModel("alexnet");
  // Multiply-adds per layer at 224x224 (classic_cnn.h): out = (in + 2p - k) / s + 1.
  const std::pair<const char*, double> kMacs[] = {
      {"layers.0.conv", 3.0 * 64 * 11 * 11 * 55 * 55},   // 70,276,800
      {"layers.1.conv", 64.0 * 192 * 5 * 5 * 27 * 27},   // 223,948,800
      {"layers.2.conv", 192.0 * 384 * 3 * 3 * 13 * 13},  // 112,140,288
      {"layers.3.conv", 384.0 * 256 * 3 * 3 * 13 * 13},  // 149,520,384
      {"layers.4.conv", 256.0 * 256 * 3 * 3 * 13 * 13},  // 99,680,256
      {"head.fc1", 9216.0 * 4096}, {"head.fc2", 4096.0 * 4096}, {"head.fc3", 4096.0 * 1000}};
  double total = 0;
  for (const auto& [name, macs] : kMacs) {
    const std::string path = name;  // clang 14 cannot capture a structured binding in a lambda
    double got = -1;
    VisitOps(m.root, [&](const std::string& p, const Operator& op) {
      if (p == path) got = op.ForwardFlops();
    });
    EXPECT_EQ(got, 2 * macs) << path;
    total += 2 * macs;
  }
  EXPECT_EQ(total, 1428376960.0);
  EXPECT_EQ(m.root.ForwardFlops(), 1428376960.0);  // nothing else counts model FLOPs
  EXPECT_EQ(FindModule(m.root, "head.avgpool"), nullptr);  // 6x6 already: no adaptive pool op
}

TEST(CnnZoo, VggFlopsNearTorchvision) {
  // torchvision's model cards list 15.47 and 19.63 GFLOPS (multiply-adds) at 224.
  EXPECT_NEAR(BuildZooModel("vgg16").root.ForwardFlops() / 2 / 15.47e9, 1.0, 0.001);
  EXPECT_NEAR(BuildZooModel("vgg19").root.ForwardFlops() / 2 / 19.63e9, 1.0, 0.001);
  EXPECT_EQ(BuildZooModel("vgg16").num_layers, 13);
  EXPECT_EQ(BuildZooModel("vgg19").num_layers, 16);
}

TEST(CnnZoo, InceptionBlocksByHand) {
  Model m = BuildZooModel("inception-v3");
  EXPECT_EQ(m.image_size, 299);
  EXPECT_EQ(m.num_layers, 11);
  // inception.h: per-block counts.
  EXPECT_EQ(FindModule(m.root, "stem")->Params(), 172672);
  const int64_t kBlocks[] = {255904, 277472, 285152, 1153280, 1297408, 1691008,
                             1691008, 2141952, 1698304, 5044608, 6076800};
  for (int i = 0; i < 11; ++i)
    EXPECT_EQ(FindModule(m.root, "layers." + std::to_string(i))->Params(), kBlocks[i]) << i;
  EXPECT_EQ(FindModule(m.root, "aux")->Params(), 3326696);
  EXPECT_EQ(FindModule(m.root, "head")->Params(), 2049000);
  // torchvision lists 5.71 GFLOPS (multiply-adds, main branch) at 299; the aux head adds ~0.02.
  EXPECT_NEAR(m.root.ForwardFlops() / 2 / 5.71e9, 1.0, 0.01);
}

TEST(CnnZoo, InceptionWithoutAux) {
  ZooOptions o;
  o.aux_logits = false;
  Model m = BuildZooModel("inception-v3", o);
  EXPECT_EQ(m.Params(), 23834568);  // torchvision inception_v3(aux_logits=False)
  EXPECT_EQ(FindModule(m.root, "aux"), nullptr);
  o.image_size = 75;  // torchvision's minimum: parameters do not depend on the image
  EXPECT_EQ(BuildZooModel("inception-v3", o).Params(), 23834568);
}

TEST(CnnZoo, ImageSizeOverrideAndMinimums) {
  EXPECT_EQ(BuildZooModel("alexnet", Image(63)).Params(), 61100840);  // adaptive pool upsamples 1x1 to 6x6
  EXPECT_EQ(BuildZooModel("vgg16", Image(32)).Params(), 138357544);
  EXPECT_EQ(BuildZooModel("inception-v3", Image(299)).image_size, 299);
  EXPECT_EQ(BuildZooModel("alexnet", Image(448)).image_size, 448);
  struct Case {
    const char* model;
    int64_t size;
  };
  for (Case c : {Case{"alexnet", 62}, Case{"vgg16", 31}, Case{"vgg19", 31}, Case{"inception-v3", 298}}) {
    std::string msg = ErrorOf(c.model, Image(c.size));
    EXPECT_EQ(msg.rfind("m.json: overrides: image_size: must be at least", 0), 0u) << c.model << ": " << msg;
  }
  ZooOptions o = Image(74);
  o.aux_logits = false;
  EXPECT_NE(ErrorOf("inception-v3", o).find("image_size: must be at least 75"), std::string::npos);
}

TEST(CnnZoo, TransformerOptionsRejected) {
  for (const char* name : {"alexnet", "vgg16", "inception-v3"}) {
    ZooOptions o;
    o.seq_len = 128;
    EXPECT_NE(ErrorOf(name, o).find("overrides: seq_len: does not apply"), std::string::npos) << name;
  }
  ZooOptions aux;
  aux.aux_logits = true;
  EXPECT_NE(ErrorOf("vgg16", aux).find("aux_logits"), std::string::npos);
  EXPECT_NE(ErrorOf("gpt3-125m", aux).find("aux_logits"), std::string::npos);
}

}  // namespace
}  // namespace proteus
