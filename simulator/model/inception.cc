#include "simulator/model/inception.h"

#include <utility>
#include <vector>

#include "common/error.h"
#include "simulator/model/cnn_builder.h"

namespace proteus {
namespace {

constexpr int64_t kClasses = 1000;  // ImageNet-1k

ConvSpec Row(int64_t out, int64_t k) { return ConvSpec{out, 1, k, 1, 0, k / 2}; }  // 1xk, same size
ConvSpec Col(int64_t out, int64_t k) { return ConvSpec{out, k, 1, 1, k / 2, 0}; }  // kx1, same size

// Builds the ops of one module whose path is `path_`.
class Block {
 public:
  Block(CnnBuilder& bld, Module& m, std::string path) : bld_(bld), m_(m), path_(std::move(path)) {}

  // torchvision's BasicConv2d: conv (no bias) -> batchnorm -> ReLU.
  Fmap Basic(const std::string& name, const Fmap& x, const ConvSpec& spec) {
    Fmap h = bld_.Conv(m_, P(name + "_conv"), name + "_conv", x, spec);
    h = bld_.BatchNorm(m_, P(name + "_bn"), name + "_bn", h);
    return bld_.Relu(m_, P(name + "_relu"), name + "_relu", h);
  }
  Fmap Pool(const std::string& name, const Fmap& x, const std::string& mode, int64_t window, int64_t stride,
            int64_t pad) {
    return bld_.Pool(m_, P(name), name, x, mode, window, stride, pad);
  }
  Fmap Concat(const std::string& name, const std::vector<Fmap>& parts) {
    return bld_.Concat(m_, P(name), name, parts);
  }

 private:
  std::string P(const std::string& name) const { return path_ + "." + name; }
  CnnBuilder& bld_;
  Module& m_;
  std::string path_;
};

Fmap InceptionA(Block& b, const Fmap& x, int64_t pool_features) {
  Fmap b1 = b.Basic("branch1x1", x, Square(64, 1));
  Fmap b5 = b.Basic("branch5x5_2", b.Basic("branch5x5_1", x, Square(48, 1)), Square(64, 5, 1, 2));
  Fmap b3 = b.Basic("branch3x3dbl_1", x, Square(64, 1));
  b3 = b.Basic("branch3x3dbl_3", b.Basic("branch3x3dbl_2", b3, Square(96, 3, 1, 1)), Square(96, 3, 1, 1));
  Fmap bp = b.Basic("branch_pool", b.Pool("branch_pool_avgpool", x, "avg", 3, 1, 1), Square(pool_features, 1));
  return b.Concat("concat", {b1, b5, b3, bp});
}

Fmap InceptionB(Block& b, const Fmap& x) {
  Fmap b3 = b.Basic("branch3x3", x, Square(384, 3, 2));
  Fmap bd = b.Basic("branch3x3dbl_1", x, Square(64, 1));
  bd = b.Basic("branch3x3dbl_3", b.Basic("branch3x3dbl_2", bd, Square(96, 3, 1, 1)), Square(96, 3, 2));
  Fmap bp = b.Pool("branch_pool", x, "max", 3, 2, 0);
  return b.Concat("concat", {b3, bd, bp});
}

Fmap InceptionC(Block& b, const Fmap& x, int64_t c7) {
  Fmap b1 = b.Basic("branch1x1", x, Square(192, 1));
  Fmap b7 = b.Basic("branch7x7_1", x, Square(c7, 1));
  b7 = b.Basic("branch7x7_3", b.Basic("branch7x7_2", b7, Row(c7, 7)), Col(192, 7));
  Fmap bd = b.Basic("branch7x7dbl_1", x, Square(c7, 1));
  bd = b.Basic("branch7x7dbl_3", b.Basic("branch7x7dbl_2", bd, Col(c7, 7)), Row(c7, 7));
  bd = b.Basic("branch7x7dbl_5", b.Basic("branch7x7dbl_4", bd, Col(c7, 7)), Row(192, 7));
  Fmap bp = b.Basic("branch_pool", b.Pool("branch_pool_avgpool", x, "avg", 3, 1, 1), Square(192, 1));
  return b.Concat("concat", {b1, b7, bd, bp});
}

Fmap InceptionD(Block& b, const Fmap& x) {
  Fmap b3 = b.Basic("branch3x3_2", b.Basic("branch3x3_1", x, Square(192, 1)), Square(320, 3, 2));
  Fmap b7 = b.Basic("branch7x7x3_1", x, Square(192, 1));
  b7 = b.Basic("branch7x7x3_3", b.Basic("branch7x7x3_2", b7, Row(192, 7)), Col(192, 7));
  b7 = b.Basic("branch7x7x3_4", b7, Square(192, 3, 2));
  Fmap bp = b.Pool("branch_pool", x, "max", 3, 2, 0);
  return b.Concat("concat", {b3, b7, bp});
}

Fmap InceptionE(Block& b, const Fmap& x) {
  Fmap b1 = b.Basic("branch1x1", x, Square(320, 1));
  Fmap b3 = b.Basic("branch3x3_1", x, Square(384, 1));
  b3 = b.Concat("branch3x3_concat", {b.Basic("branch3x3_2a", b3, Row(384, 3)), b.Basic("branch3x3_2b", b3, Col(384, 3))});
  Fmap bd = b.Basic("branch3x3dbl_2", b.Basic("branch3x3dbl_1", x, Square(448, 1)), Square(384, 3, 1, 1));
  bd = b.Concat("branch3x3dbl_concat",
                {b.Basic("branch3x3dbl_3a", bd, Row(384, 3)), b.Basic("branch3x3dbl_3b", bd, Col(384, 3))});
  Fmap bp = b.Basic("branch_pool", b.Pool("branch_pool_avgpool", x, "avg", 3, 1, 1), Square(192, 1));
  return b.Concat("concat", {b1, b3, bd, bp});
}

// Mixed_5b .. Mixed_7c in torchvision's order; kind A..E and its width argument.
struct MixedSpec {
  char kind;
  int64_t arg;  // InceptionA: pool_features; InceptionC: channels_7x7
};
const std::vector<MixedSpec> kMixed = {{'A', 32}, {'A', 64}, {'A', 64}, {'B', 0}, {'C', 128}, {'C', 160},
                                       {'C', 160}, {'C', 192}, {'D', 0}, {'E', 0}, {'E', 0}};
constexpr size_t kAuxAfter = 7;  // AuxLogits reads Mixed_6e's output

Module Mixed(CnnBuilder& bld, size_t index, Fmap& x) {
  Module m{std::to_string(index), "inception_block", {}, {}};
  Block b(bld, m, "layers." + std::to_string(index));
  const MixedSpec& s = kMixed[index];
  switch (s.kind) {
    case 'A': x = InceptionA(b, x, s.arg); break;
    case 'B': x = InceptionB(b, x); break;
    case 'C': x = InceptionC(b, x, s.arg); break;
    case 'D': x = InceptionD(b, x); break;
    default: x = InceptionE(b, x); break;
  }
  return m;
}

Module Stem(CnnBuilder& bld, Fmap& x) {
  Module stem{"stem", "stem", {}, {}};
  Block b(bld, stem, "stem");
  x = b.Basic("conv1a", x, Square(32, 3, 2));
  x = b.Basic("conv2a", x, Square(32, 3));
  x = b.Basic("conv2b", x, Square(64, 3, 1, 1));
  x = b.Pool("maxpool1", x, "max", 3, 2, 0);
  x = b.Basic("conv3b", x, Square(80, 1));
  x = b.Basic("conv4a", x, Square(192, 3));
  x = b.Pool("maxpool2", x, "max", 3, 2, 0);
  return stem;
}

// InceptionAux: avg pool 5x5/3, 1x1 conv 128, 5x5 conv 768, global average pool, fc.
Module Aux(CnnBuilder& bld, const Fmap& x, Features& logits) {
  Module aux{"aux", "aux_head", {}, {}};
  Block b(bld, aux, "aux");
  Fmap h = b.Pool("avgpool", x, "avg", 5, 3, 0);
  h = b.Basic("conv1", b.Basic("conv0", h, Square(128, 1)), Square(768, 5));
  Features f = bld.GlobalAvgPool(aux, "aux.global_pool", "global_pool", h);
  logits = bld.Linear(aux, "aux.fc", "fc", f, kClasses);
  return aux;
}

}  // namespace

Model BuildInceptionV3(const ZooOptions& options, const std::string& origin) {
  RejectTransformerOptions(options, origin, "Inception-v3");
  bool aux = options.aux_logits.value_or(true);
  int64_t image = aux ? CheckedImageSize(options, origin, kInceptionV3, 299, 299,
                                         "the auxiliary classifier's 5x5 conv needs a 17x17 Mixed_6e map; "
                                         "aux_logits false allows 75")
                      : CheckedImageSize(options, origin, kInceptionV3, 299, 75, "Mixed_7a's 3x3/2 convs need a 3x3 map");
  CnnBuilder bld(options.dtype.value_or(DType::kFp32), origin);

  Model model;
  model.name = options.name.value_or(kInceptionV3);
  model.root = Module{"", "model", {}, {}};
  Fmap x{"input.images", 3, image};
  model.root.children.push_back(Stem(bld, x));
  Module layers{"layers", "layers", {}, {}};
  Features aux_logits;
  Module aux_head;
  for (size_t i = 0; i < kMixed.size(); ++i) {
    layers.children.push_back(Mixed(bld, i, x));
    if (aux && i == kAuxAfter) aux_head = Aux(bld, x, aux_logits);
  }
  model.root.children.push_back(std::move(layers));
  if (aux) model.root.children.push_back(std::move(aux_head));
  Module head{"head", "head", {}, {}};
  Features f = bld.GlobalAvgPool(head, "head.avgpool", "avgpool", x);
  f = bld.Dropout(head, "head.dropout", "dropout", f);
  f = bld.Linear(head, "head.fc", "fc", f, kClasses);
  model.root.children.push_back(std::move(head));
  Module loss{"loss", "loss", {}, {}};
  bld.CrossEntropy(loss, "loss.cross_entropy", "cross_entropy", f);
  if (aux) bld.CrossEntropy(loss, "loss.aux_cross_entropy", "aux_cross_entropy", aux_logits);
  model.root.children.push_back(std::move(loss));

  model.num_layers = static_cast<int64_t>(kMixed.size());
  model.dtype = bld.dt();
  model.family = "inception";
  model.image_size = image;
  return model;
}

}  // namespace proteus
