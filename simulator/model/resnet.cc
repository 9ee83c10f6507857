#include "simulator/model/resnet.h"

#include <array>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "simulator/model/op_builders.h"

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

// A feature map flowing between ops: its tensor name, channels and height = width.
struct Fmap {
  std::string name;
  int64_t channels, size;
};

const std::vector<std::string> kOut = {"b", "k", "oh", "ow"};
const std::vector<std::string> kIn = {"b", "c", "ih", "iw"};

int64_t OutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

class Builder {
 public:
  explicit Builder(DType dt) : dt_(dt) {}

  // Convolution without bias (every conv of a ResNet is followed by a batchnorm); keeps its input.
  Fmap Conv(Module& m, const std::string& path, const std::string& name, const Fmap& in, int64_t out_ch,
            int64_t kernel, int64_t stride, int64_t pad) {
    int64_t o = OutSize(in.size, kernel, stride, pad);
    bool is_image = in.name == "input.images";
    auto input = is_image ? ModelInput(in.name, kIn, dt_) : InputOf(in.name, kIn, dt_);
    Operator op = MakeOp(name, OpKind::kConv2d, dt_,
                         {BatchDim("b", 1), SpatialDim("k", out_ch), OpaqueDim("oh", o), OpaqueDim("ow", o),
                          ReduceDim("c", in.channels), ReduceDim("kh", kernel), ReduceDim("kw", kernel),
                          ExtentDim("ih", in.size), ExtentDim("iw", in.size)},
                         {input, WeightOf(path + ".weight", {"k", "c", "kh", "kw"}, dt_),
                          OutputOf(OutName(path), kOut, dt_)}, 2.0);
    op.saved = {Keep(input)};
    op.attrs = {{"stride", std::to_string(stride)}, {"pad", std::to_string(pad)}};
    m.ops.push_back(std::move(op));
    return {OutName(path), out_ch, o};
  }

  // Batchnorm (gamma, beta; running statistics are buffers, not parameters); keeps its input and
  // fp32 per-channel mean and inverse deviation.
  Fmap BatchNorm(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
    auto input = InputOf(in.name, kOut, dt_);
    Operator op = MakeOp(name, OpKind::kBatchNorm, dt_, Dims(in),
                         {input, WeightOf(path + ".weight", {"k"}, dt_), WeightOf(path + ".bias", {"k"}, dt_),
                          OutputOf(OutName(path), kOut, dt_)}, 0.0);
    op.saved = {Keep(input), KeepAs(path + ".stats", {"k"}, 8)};
    m.ops.push_back(std::move(op));
    return {OutName(path), in.channels, in.size};
  }

  // ReLU keeps its output (the mask of its backward); PyTorch runs it in place, so the kept
  // value is the next convolution's input and is stored once.
  Fmap Relu(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
    auto output = OutputOf(OutName(path), kOut, dt_);
    Operator op = MakeOp(name, OpKind::kRelu, dt_, EltDims(in), {InputOf(in.name, kOut, dt_), output}, 0.0);
    op.saved = {Keep(output)};
    m.ops.push_back(std::move(op));
    return {OutName(path), in.channels, in.size};
  }

  Fmap Add(Module& m, const std::string& path, const Fmap& a, const Fmap& b) {
    m.ops.push_back(MakeOp("add", OpKind::kAdd, dt_, EltDims(a),
                           {InputOf(a.name, kOut, dt_), InputOf(b.name, kOut, dt_),
                            OutputOf(OutName(path), kOut, dt_)}, 0.0));
    return {OutName(path), a.channels, a.size};
  }

  // Max pool 3x3/2 pad 1: keeps its input and the int64 argmax indices (PyTorch's max_pool2d).
  Fmap MaxPool(Module& m, const std::string& path, const Fmap& in) {
    int64_t o = OutSize(in.size, 3, 2, 1);
    auto input = InputOf(in.name, {"b", "k", "ih", "iw"}, dt_);
    Operator op = MakeOp("maxpool", OpKind::kPool, dt_,
                         {BatchDim("b", 1), BatchDim("k", in.channels), OpaqueDim("oh", o), OpaqueDim("ow", o),
                          OpaqueDim("kh", 3), OpaqueDim("kw", 3), ExtentDim("ih", in.size), ExtentDim("iw", in.size)},
                         {input, OutputOf(OutName(path), kOut, dt_)}, 0.0);
    op.saved = {Keep(input), KeepAs(path + ".indices", kOut, 8)};
    op.attrs = {{"mode", "max"}, {"window", "3"}, {"stride", "2"}, {"pad", "1"}};
    m.ops.push_back(std::move(op));
    return {OutName(path), in.channels, o};
  }

  DType dt() const { return dt_; }

 private:
  std::vector<Dim> Dims(const Fmap& f) const {
    return {BatchDim("b", 1), BatchDim("k", f.channels), OpaqueDim("oh", f.size), OpaqueDim("ow", f.size)};
  }
  std::vector<Dim> EltDims(const Fmap& f) const {
    return {BatchDim("b", 1), BatchDim("k", f.channels), BatchDim("oh", f.size), BatchDim("ow", f.size)};
  }
  DType dt_;
};

// One bottleneck: 1x1 (width) -> 3x3 (width, stride) -> 1x1 (4 x width), projection shortcut when
// the shape changes.
Module Bottleneck(Builder& bld, int index, Fmap& x, int64_t width, int64_t stride) {
  std::string p = "layers." + std::to_string(index);
  Module m{std::to_string(index), "resnet_block", {}, {}};
  Fmap h = bld.Conv(m, p + ".conv1", "conv1", x, width, 1, 1, 0);
  h = bld.Relu(m, p + ".relu1", "relu1", bld.BatchNorm(m, p + ".bn1", "bn1", h));
  h = bld.Conv(m, p + ".conv2", "conv2", h, width, 3, stride, 1);
  h = bld.Relu(m, p + ".relu2", "relu2", bld.BatchNorm(m, p + ".bn2", "bn2", h));
  h = bld.Conv(m, p + ".conv3", "conv3", h, 4 * width, 1, 1, 0);
  h = bld.BatchNorm(m, p + ".bn3", "bn3", h);
  Fmap shortcut = x;
  if (stride != 1 || x.channels != 4 * width) {
    shortcut = bld.Conv(m, p + ".downsample", "downsample", x, 4 * width, 1, stride, 0);
    shortcut = bld.BatchNorm(m, p + ".downsample_bn", "downsample_bn", shortcut);
  }
  x = bld.Relu(m, p + ".relu", "relu", bld.Add(m, p + ".add", h, shortcut));
  return m;
}

}  // namespace

namespace {

// Global average pool to [b, k], fc to the classes, softmax cross-entropy (fp32).
std::vector<Module> Head(Builder& bld, const Fmap& x) {
  DType dt = bld.dt();
  Module head{"head", "head", {}, {}};
  Operator pool = MakeOp("avgpool", OpKind::kPool, dt,
                         {BatchDim("b", 1), BatchDim("k", x.channels), OpaqueDim("kh", x.size),
                          OpaqueDim("kw", x.size), ExtentDim("ih", x.size), ExtentDim("iw", x.size)},
                         {InputOf(x.name, {"b", "k", "ih", "iw"}, dt), OutputOf("head.avgpool.out", {"b", "k"}, dt)},
                         0.0);
  pool.attrs = {{"mode", "avg"}, {"window", std::to_string(x.size)}, {"stride", "1"}, {"pad", "0"}};
  head.ops.push_back(std::move(pool));
  auto fc_in = InputOf("head.avgpool.out", {"b", "h"}, dt);
  Operator fc = MakeOp("fc", OpKind::kLinear, dt,
                       {BatchDim("b", 1), ReduceDim("h", x.channels), SpatialDim("v", kClasses)},
                       {fc_in, WeightOf("head.fc.weight", {"v", "h"}, dt), WeightOf("head.fc.bias", {"v"}, dt),
                        OutputOf("head.fc.out", {"b", "v"}, dt)}, 2.0);
  fc.saved = {Keep(fc_in)};
  head.ops.push_back(std::move(fc));
  Module loss{"loss", "loss", {}, {}};
  Operator ce = MakeOp("cross_entropy", OpKind::kCrossEntropy, DType::kFp32,
                       {BatchDim("b", 1), ReduceDim("v", kClasses)},
                       {InputOf("head.fc.out", {"b", "v"}, dt), ModelInput("input.labels", {"b"}, DType::kInt64),
                        OutputOf("loss.cross_entropy.out", {"b"}, DType::kFp32)}, 0.0);
  ce.saved = {KeepAs("loss.cross_entropy.softmax", {"b", "v"}, 4)};
  loss.ops.push_back(std::move(ce));
  return {std::move(head), std::move(loss)};
}

void RejectTransformerOptions(const ZooOptions& o, const std::string& origin) {
  auto reject = [&](bool set, const char* field) {
    if (set) throw UserError(origin + ": " + field, "does not apply to a ResNet (image_size, dtype and name do)");
  };
  reject(o.num_layers.has_value(), "num_layers");
  reject(o.seq_len.has_value(), "seq_len");
  reject(o.hidden.has_value(), "hidden");
  reject(o.num_heads.has_value(), "num_heads");
  reject(o.num_kv_heads.has_value(), "num_kv_heads");
  reject(o.ffn_hidden.has_value(), "ffn_hidden");
  reject(o.vocab.has_value(), "vocab");
  reject(o.fused_attention.has_value(), "fused_attention");
  reject(o.tied_embeddings.has_value(), "tied_embeddings");
  reject(o.dropout.has_value(), "dropout");
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
  RejectTransformerOptions(options, origin);
  int64_t image = options.image_size.value_or(224);
  if (image < 32)
    throw UserError(origin + ": image_size", "must be at least 32 (five stride-2 steps), got " + std::to_string(image));
  // Beyond this the stem convolution of one image spans more than 2^53 points (2^14 pixels a side
  // is far above any ImageNet-style training resolution).
  constexpr int64_t kMaxImage = int64_t{1} << 14;
  if (image > kMaxImage)
    throw UserError(origin + ": image_size", "must be at most " + std::to_string(kMaxImage) + ", got " + std::to_string(image));
  Builder bld(options.dtype.value_or(DType::kFp32));

  Model model;
  model.name = options.name.value_or(name);
  model.root = Module{"", "model", {}, {}};
  Module stem{"stem", "stem", {}, {}};
  Fmap x{"input.images", 3, image};
  x = bld.Conv(stem, "stem.conv1", "conv1", x, 64, 7, 2, 3);
  x = bld.Relu(stem, "stem.relu", "relu", bld.BatchNorm(stem, "stem.bn1", "bn1", x));
  x = bld.MaxPool(stem, "stem.maxpool", x);
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
