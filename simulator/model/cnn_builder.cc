#include "simulator/model/cnn_builder.h"

#include <algorithm>
#include <utility>

#include "common/error.h"
#include "simulator/model/op_builders.h"

namespace proteus {
namespace {

const std::vector<std::string> kOut = {"b", "k", "oh", "ow"};
const std::vector<std::string> kIn = {"b", "c", "ih", "iw"};
const std::vector<std::string> kVec = {"b", "h"};

std::vector<Dim> NormDims(const Fmap& f) {
  return {BatchDim("b", 1), BatchDim("k", f.channels), OpaqueDim("oh", f.size), OpaqueDim("ow", f.size)};
}
std::vector<Dim> EltDims(const Fmap& f) {
  return {BatchDim("b", 1), BatchDim("k", f.channels), BatchDim("oh", f.size), BatchDim("ow", f.size)};
}
// A pooling window of `window` pixels over `in`, to an out x out map (max, avg and adaptive pools).
std::vector<Dim> PoolDims(const Fmap& in, int64_t out, int64_t window) {
  return {BatchDim("b", 1),        BatchDim("k", in.channels), OpaqueDim("oh", out),      OpaqueDim("ow", out),
          OpaqueDim("kh", window), OpaqueDim("kw", window),    ExtentDim("ih", in.size), ExtentDim("iw", in.size)};
}
std::vector<Dim> VecDims(const Features& f) { return {BatchDim("b", 1), BatchDim("h", f.features)}; }

TensorUse MapInput(const std::string& name, const std::vector<std::string>& axes, DType dt) {
  return name == "input.images" ? ModelInput(name, axes, dt) : InputOf(name, axes, dt);
}

}  // namespace

ConvSpec Square(int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad, bool bias) {
  return ConvSpec{out_channels, kernel, kernel, stride, pad, pad, bias};
}

int64_t ConvOutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

void CnnBuilder::CheckFits(const std::string& path, int64_t in, int64_t kernel, int64_t pad) const {
  if (in + 2 * pad >= kernel) return;
  throw UserError(origin_ + ": image_size", "too small for the network: " + path + " gets a " + std::to_string(in) +
                                               "-pixel map, smaller than its " + std::to_string(kernel) +
                                               "-pixel window (padding " + std::to_string(pad) + ")");
}

Fmap CnnBuilder::Conv(Module& m, const std::string& path, const std::string& name, const Fmap& in,
                      const ConvSpec& spec) {
  CheckFits(path, in.size, spec.kh, spec.ph);
  CheckFits(path, in.size, spec.kw, spec.pw);
  int64_t oh = ConvOutSize(in.size, spec.kh, spec.stride, spec.ph);
  int64_t ow = ConvOutSize(in.size, spec.kw, spec.stride, spec.pw);
  PROTEUS_CHECK(oh == ow, path + ": the zoo's CNNs keep feature maps square");
  auto input = MapInput(in.name, kIn, dt_);
  std::vector<TensorUse> tensors = {input, WeightOf(path + ".weight", {"k", "c", "kh", "kw"}, dt_)};
  if (spec.bias) tensors.push_back(WeightOf(path + ".bias", {"k"}, dt_));
  tensors.push_back(OutputOf(OutName(path), kOut, dt_));
  Operator op = MakeOp(name, OpKind::kConv2d, dt_,
                       {BatchDim("b", 1), SpatialDim("k", spec.out_channels), OpaqueDim("oh", oh), OpaqueDim("ow", ow),
                        ReduceDim("c", in.channels), ReduceDim("kh", spec.kh), ReduceDim("kw", spec.kw),
                        ExtentDim("ih", in.size), ExtentDim("iw", in.size)},
                       std::move(tensors), 2.0);
  op.saved = {Keep(input)};
  op.attrs = {{"stride", std::to_string(spec.stride)}, {"pad", std::to_string(spec.ph)}};
  if (spec.ph != spec.pw) {  // a 1x7 conv pads 3 columns and no rows (cost/op_mapping.h)
    op.attrs["pad_h"] = std::to_string(spec.ph);
    op.attrs["pad_w"] = std::to_string(spec.pw);
  }
  m.ops.push_back(std::move(op));
  return {OutName(path), spec.out_channels, oh};
}

Fmap CnnBuilder::BatchNorm(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
  auto input = InputOf(in.name, kOut, dt_);
  Operator op = MakeOp(name, OpKind::kBatchNorm, dt_, NormDims(in),
                       {input, WeightOf(path + ".weight", {"k"}, dt_), WeightOf(path + ".bias", {"k"}, dt_),
                        OutputOf(OutName(path), kOut, dt_)}, 0.0);
  op.saved = {Keep(input), KeepAs(path + ".stats", {"k"}, 8)};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.channels, in.size};
}

Fmap CnnBuilder::Relu(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
  auto output = OutputOf(OutName(path), kOut, dt_);
  Operator op = MakeOp(name, OpKind::kRelu, dt_, EltDims(in), {InputOf(in.name, kOut, dt_), output}, 0.0);
  op.saved = {Keep(output)};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.channels, in.size};
}

Fmap CnnBuilder::Add(Module& m, const std::string& path, const Fmap& a, const Fmap& b) {
  m.ops.push_back(MakeOp("add", OpKind::kAdd, dt_, EltDims(a),
                         {InputOf(a.name, kOut, dt_), InputOf(b.name, kOut, dt_), OutputOf(OutName(path), kOut, dt_)},
                         0.0));
  return {OutName(path), a.channels, a.size};
}

Fmap CnnBuilder::Pool(Module& m, const std::string& path, const std::string& name, const Fmap& in,
                      const std::string& mode, int64_t window, int64_t stride, int64_t pad) {
  CheckFits(path, in.size, window, pad);
  int64_t o = ConvOutSize(in.size, window, stride, pad);
  auto input = InputOf(in.name, {"b", "k", "ih", "iw"}, dt_);
  Operator op = MakeOp(name, OpKind::kPool, dt_, PoolDims(in, o, window), {input, OutputOf(OutName(path), kOut, dt_)}, 0.0);
  if (mode == "max") op.saved = {Keep(input), KeepAs(path + ".indices", kOut, 8)};
  op.attrs = {{"mode", mode}, {"window", std::to_string(window)}, {"stride", std::to_string(stride)},
              {"pad", std::to_string(pad)}};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.channels, o};
}

Fmap CnnBuilder::AdaptiveAvgPool(Module& m, const std::string& path, const std::string& name, const Fmap& in,
                                 int64_t out) {
  if (in.size == out) return in;
  // PyTorch's adaptive windows span [floor(i*in/out), ceil((i+1)*in/out)): at most ceil(in/out)+1
  // pixels; the cost model takes ceil(in/out) (1 when upsampling a smaller map).
  int64_t window = (in.size + out - 1) / out;
  auto input = InputOf(in.name, {"b", "k", "ih", "iw"}, dt_);
  Operator op =
      MakeOp(name, OpKind::kPool, dt_, PoolDims(in, out, window), {input, OutputOf(OutName(path), kOut, dt_)}, 0.0);
  op.attrs = {{"mode", "avg"}, {"window", std::to_string(window)}, {"stride", std::to_string(std::max<int64_t>(1, in.size / out))},
              {"pad", "0"}};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.channels, out};
}

Fmap CnnBuilder::Concat(Module& m, const std::string& path, const std::string& name, const std::vector<Fmap>& parts) {
  PROTEUS_CHECK(parts.size() >= 2, path + ": a concat joins at least two maps");
  int64_t channels = 0;
  for (const auto& p : parts) {
    PROTEUS_CHECK(p.size == parts.front().size, path + ": concatenated maps differ in size");
    channels += p.channels;
  }
  int64_t size = parts.front().size;
  // Output channels k are opaque: a split of k does not map onto the parts' channels. Each part's
  // channels are an extent-only dim c<i> that sizes its axis (op.h).
  std::vector<Dim> dims = {BatchDim("b", 1), OpaqueDim("k", channels), BatchDim("oh", size), BatchDim("ow", size)};
  std::vector<TensorUse> tensors;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string c = "c" + std::to_string(i);
    dims.push_back(ExtentDim(c, parts[i].channels));
    tensors.push_back(InputOf(parts[i].name, {"b", c, "oh", "ow"}, dt_));
  }
  tensors.push_back(OutputOf(OutName(path), kOut, dt_));
  m.ops.push_back(MakeOp(name, OpKind::kConcat, dt_, std::move(dims), std::move(tensors), 0.0));
  return {OutName(path), channels, size};
}

Fmap CnnBuilder::Dropout(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
  Operator op = MakeOp(name, OpKind::kDropout, dt_, EltDims(in),
                       {InputOf(in.name, kOut, dt_), OutputOf(OutName(path), kOut, dt_)}, 0.0);
  op.saved = {KeepAs(path + ".mask", kOut, 1)};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.channels, in.size};
}

Features CnnBuilder::GlobalAvgPool(Module& m, const std::string& path, const std::string& name, const Fmap& in) {
  Operator pool = MakeOp(name, OpKind::kPool, dt_,
                         {BatchDim("b", 1), BatchDim("k", in.channels), OpaqueDim("kh", in.size),
                          OpaqueDim("kw", in.size), ExtentDim("ih", in.size), ExtentDim("iw", in.size)},
                         {InputOf(in.name, {"b", "k", "ih", "iw"}, dt_), OutputOf(OutName(path), {"b", "k"}, dt_)},
                         0.0);
  pool.attrs = {{"mode", "avg"}, {"window", std::to_string(in.size)}, {"stride", "1"}, {"pad", "0"}};
  m.ops.push_back(std::move(pool));
  return {OutName(path), in.channels};
}

Features CnnBuilder::Linear(Module& m, const std::string& path, const std::string& name, const Fmap& in, int64_t out) {
  auto input = InputOf(in.name, kOut, dt_);
  Operator fc = MakeOp(name, OpKind::kLinear, dt_,
                       {BatchDim("b", 1), ReduceDim("k", in.channels), ReduceDim("oh", in.size),
                        ReduceDim("ow", in.size), SpatialDim("v", out)},
                       {input, WeightOf(path + ".weight", {"v", "k", "oh", "ow"}, dt_),
                        WeightOf(path + ".bias", {"v"}, dt_), OutputOf(OutName(path), {"b", "v"}, dt_)},
                       2.0);
  fc.saved = {Keep(input)};
  m.ops.push_back(std::move(fc));
  return {OutName(path), out};
}

Features CnnBuilder::Linear(Module& m, const std::string& path, const std::string& name, const Features& in,
                            int64_t out) {
  auto input = InputOf(in.name, kVec, dt_);
  Operator fc = MakeOp(name, OpKind::kLinear, dt_, {BatchDim("b", 1), ReduceDim("h", in.features), SpatialDim("v", out)},
                       {input, WeightOf(path + ".weight", {"v", "h"}, dt_), WeightOf(path + ".bias", {"v"}, dt_),
                        OutputOf(OutName(path), {"b", "v"}, dt_)},
                       2.0);
  fc.saved = {Keep(input)};
  m.ops.push_back(std::move(fc));
  return {OutName(path), out};
}

Features CnnBuilder::Relu(Module& m, const std::string& path, const std::string& name, const Features& in) {
  auto output = OutputOf(OutName(path), kVec, dt_);
  Operator op = MakeOp(name, OpKind::kRelu, dt_, VecDims(in), {InputOf(in.name, kVec, dt_), output}, 0.0);
  op.saved = {Keep(output)};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.features};
}

Features CnnBuilder::Dropout(Module& m, const std::string& path, const std::string& name, const Features& in) {
  Operator op = MakeOp(name, OpKind::kDropout, dt_, VecDims(in),
                       {InputOf(in.name, kVec, dt_), OutputOf(OutName(path), kVec, dt_)}, 0.0);
  op.saved = {KeepAs(path + ".mask", kVec, 1)};
  m.ops.push_back(std::move(op));
  return {OutName(path), in.features};
}

void CnnBuilder::CrossEntropy(Module& m, const std::string& path, const std::string& name, const Features& logits) {
  Operator ce = MakeOp(name, OpKind::kCrossEntropy, DType::kFp32, {BatchDim("b", 1), ReduceDim("v", logits.features)},
                       {InputOf(logits.name, {"b", "v"}, dt_), ModelInput("input.labels", {"b"}, DType::kInt64),
                        OutputOf(OutName(path), {"b"}, DType::kFp32)},
                       0.0);
  ce.saved = {KeepAs(path + ".softmax", {"b", "v"}, 4)};
  m.ops.push_back(std::move(ce));
}

void RejectTransformerOptions(const ZooOptions& o, const std::string& origin, const std::string& family) {
  auto reject = [&](bool set, const char* field) {
    if (set) throw UserError(origin + ": " + field, "does not apply to " + family + " (image_size, dtype and name do)");
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
  if (o.aux_logits && family != "Inception-v3")
    throw UserError(origin + ": aux_logits", "applies to inception-v3 only, not " + family);
}

int64_t CheckedImageSize(const ZooOptions& options, const std::string& origin, const std::string& model,
                         int64_t default_size, int64_t min_size, const std::string& why_min) {
  int64_t image = options.image_size.value_or(default_size);
  if (image < min_size)
    throw UserError(origin + ": image_size", "must be at least " + std::to_string(min_size) + " for " + model + " (" +
                                                 why_min + "), got " + std::to_string(image));
  // Beyond this the first convolution of one image spans more than 2^53 points (2^14 pixels a
  // side is far above any ImageNet-style training resolution).
  constexpr int64_t kMaxImage = int64_t{1} << 14;
  if (image > kMaxImage)
    throw UserError(origin + ": image_size", "must be at most " + std::to_string(kMaxImage) + ", got " + std::to_string(image));
  return image;
}

}  // namespace proteus
