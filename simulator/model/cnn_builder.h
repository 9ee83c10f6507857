// Layer builders shared by the convolutional networks of the zoo (resnet.cc, classic_cnn.cc,
// inception.cc), so each network reads as torchvision's list of layers.
//
// Model. A feature map is [b, k, oh, ow] (NCHW; height = width, every zoo CNN keeps maps square).
// A convolution over an oh x ow output with c in and k out channels and a kh x kw kernel does
// c*k*kh*kw*oh*ow multiply-adds (2 model FLOPs each); its output size per axis is
//   out = (in + 2*pad - kernel) / stride + 1       (PyTorch, floor division)
// and torchvision fails when in + 2*pad < kernel: Conv and Pool refuse that with a UserError on
// `<origin>: image_size`, so a too small image names the field. Every other op is priced by the
// bytes it moves (flops_per_point 0).
//
// Worked example: AlexNet's first conv at 224x224: 11x11/4 pad 2, 3 -> 64 channels:
//   out = (224 + 4 - 11) / 4 + 1 = 55, 3*64*121*55*55 = 70,276,800 multiply-adds.
//
// What each op keeps for backward (PyTorch's autograd): a conv its input, a batchnorm its input
// and fp32 mean and inverse deviation, a ReLU its output (in place: the next conv's input, stored
// once), a max pool its input and int64 argmax, an average pool nothing (its backward needs only
// the shape), dropout a one-byte mask, a linear its input, a concat nothing (its backward splits
// the gradient).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/model/module.h"
#include "simulator/model/zoo.h"

namespace proteus {

/// A feature map flowing between ops: its tensor name, channels and height = width.
struct Fmap {
  std::string name;
  int64_t channels = 0, size = 0;
};

/// A flat feature vector [b, features] (after global pooling or a linear layer).
struct Features {
  std::string name;
  int64_t features = 0;
};

/// One convolution: out channels, kernel kh x kw, stride, padding ph (rows) and pw (columns).
struct ConvSpec {
  int64_t out_channels = 0, kh = 1, kw = 1, stride = 1, ph = 0, pw = 0;
  bool bias = false;
};

/// Square convolution helper: ConvSpec{out, k, k, stride, pad, pad, bias}.
ConvSpec Square(int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = 0, bool bias = false);

/// (in + 2*pad - kernel) / stride + 1, the PyTorch output size (in + 2*pad >= kernel assumed).
int64_t ConvOutSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad);

class CnnBuilder {
 public:
  /// `origin` names the source in errors ("--model", a file); ops get dtype `dt`.
  CnnBuilder(DType dt, std::string origin) : dt_(dt), origin_(std::move(origin)) {}

  /// Ops are appended to `m`; `path` is the op's full path, `name` its name inside `m`.
  Fmap Conv(Module& m, const std::string& path, const std::string& name, const Fmap& in, const ConvSpec& spec);
  Fmap BatchNorm(Module& m, const std::string& path, const std::string& name, const Fmap& in);
  Fmap Relu(Module& m, const std::string& path, const std::string& name, const Fmap& in);
  Fmap Add(Module& m, const std::string& path, const Fmap& a, const Fmap& b);
  /// Max or average ("max" | "avg") pooling, window x window. Average pooling counts padding
  /// (PyTorch's default count_include_pad).
  Fmap Pool(Module& m, const std::string& path, const std::string& name, const Fmap& in, const std::string& mode,
            int64_t window, int64_t stride, int64_t pad);
  /// Adaptive average pooling to out x out (torchvision's AdaptiveAvgPool2d); no op when the map
  /// already has that size (the identity at the default image size).
  Fmap AdaptiveAvgPool(Module& m, const std::string& path, const std::string& name, const Fmap& in, int64_t out);
  /// torch.cat(parts, dim=1): a new tensor of sum(channels), all parts of the same size.
  Fmap Concat(Module& m, const std::string& path, const std::string& name, const std::vector<Fmap>& parts);
  Fmap Dropout(Module& m, const std::string& path, const std::string& name, const Fmap& in);
  /// Global average pool of a map to [b, channels].
  Features GlobalAvgPool(Module& m, const std::string& path, const std::string& name, const Fmap& in);
  /// Linear layer with bias over a flattened map (torch.flatten(x, 1) is a view: the weight is
  /// [out, k, oh, ow]) or over a feature vector.
  Features Linear(Module& m, const std::string& path, const std::string& name, const Fmap& in, int64_t out);
  Features Linear(Module& m, const std::string& path, const std::string& name, const Features& in, int64_t out);
  Features Relu(Module& m, const std::string& path, const std::string& name, const Features& in);
  Features Dropout(Module& m, const std::string& path, const std::string& name, const Features& in);
  /// Softmax cross-entropy of logits against "input.labels" (fp32); output "<path>.out".
  void CrossEntropy(Module& m, const std::string& path, const std::string& name, const Features& logits);

  DType dt() const { return dt_; }

 private:
  // UserError on `<origin>: image_size` when the window does not fit the (padded) map.
  void CheckFits(const std::string& path, int64_t in, int64_t kernel, int64_t pad) const;
  DType dt_;
  std::string origin_;
};

/// Throws UserError at `<origin>: <field>` for every transformer option set (what ResNets and the
/// other CNNs refuse); `family` names the model in the message.
void RejectTransformerOptions(const ZooOptions& options, const std::string& origin, const std::string& family);

/// image_size (default `default_size`) checked against [min_size, 2^14]; UserError on
/// `<origin>: image_size` naming the model and why the minimum.
int64_t CheckedImageSize(const ZooOptions& options, const std::string& origin, const std::string& model,
                         int64_t default_size, int64_t min_size, const std::string& why_min);

}  // namespace proteus
