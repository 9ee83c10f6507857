// conv2d, batchnorm and pool through cuDNN's descriptor API (NCHW).
//   conv2d     fwd cudnnConvolutionForward; bwd_data cudnnConvolutionBackwardData; bwd_weight
//              cudnnConvolutionBackwardFilter; the algorithm is the first of cuDNN's heuristic
//              ranking (_v7) that fits the workspace. fp16/bf16 use tensor cores, tf32 allows TF32
//              (CUDNN_DEFAULT_MATH), fp32 forbids it (CUDNN_FMA_MATH).
//   batchnorm  fwd: training-mode forward (batch statistics, running averages, saved mean/invvar);
//              bwd_data: cudnnBatchNormalizationBackward, which also produces dgamma and dbeta.
//   pool       window x window, stride, no padding (output (h - window) / stride + 1), max or avg.
// cuDNN 9 marks the descriptor batchnorm/pooling calls deprecated in favour of its graph API; they
// remain the calls PyTorch's cuDNN path used for years, so they are what we measure.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/ops.h"

namespace proteus::profiler {
namespace {

cudnnDataType_t CudnnType(DType t) {
  if (t == DType::kFp16) return CUDNN_DATA_HALF;
  if (t == DType::kBf16) return CUDNN_DATA_BFLOAT16;
  return CUDNN_DATA_FLOAT;
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(DType t, int64_t n, int64_t c, int64_t h, int64_t w) {
    PROTEUS_CUDNN(cudnnCreateTensorDescriptor(&d));
    PROTEUS_CUDNN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CudnnType(t), int(n), int(c), int(h), int(w)));
  }
  TensorDesc() { PROTEUS_CUDNN(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

class ConvOp : public OpInstance {
 public:
  ConvOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), phase_(key.phase) {
    auto s = [&](const char* p) { return key.shape.at(p); };
    DType t = key.dtype, elem = t == DType::kTf32 ? DType::kFp32 : t;
    x_ = std::make_unique<TensorDesc>(elem, s("n"), s("c"), s("h"), s("w"));
    PROTEUS_CUDNN(cudnnCreateFilterDescriptor(&f_));
    PROTEUS_CUDNN(cudnnSetFilter4dDescriptor(f_, CudnnType(elem), CUDNN_TENSOR_NCHW, int(s("k")), int(s("c")), int(s("r")), int(s("s"))));
    PROTEUS_CUDNN(cudnnCreateConvolutionDescriptor(&conv_));
    PROTEUS_CUDNN(cudnnSetConvolution2dDescriptor(conv_, int(s("pad")), int(s("pad")), int(s("stride")), int(s("stride")), 1, 1,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    cudnnMathType_t math = t == DType::kFp32 ? CUDNN_FMA_MATH : t == DType::kTf32 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH;
    PROTEUS_CUDNN(cudnnSetConvolutionMathType(conv_, math));
    int n, k, p, q;
    PROTEUS_CUDNN(cudnnGetConvolution2dForwardOutputDim(conv_, x_->d, f_, &n, &k, &p, &q));
    y_ = std::make_unique<TensorDesc>(elem, n, k, p, q);
    int64_t xs = s("n") * s("c") * s("h") * s("w"), ys = int64_t(n) * k * p * q, fs = s("k") * s("c") * s("r") * s("s");
    if (phase_ == Phase::kFwd) { AddIn("x", elem, xs); AddIn("f", elem, fs); AddOut("y", elem, ys); }
    else if (phase_ == Phase::kBwdData) { AddIn("dy", elem, ys); AddIn("f", elem, fs); AddOut("dx", elem, xs); }
    else { AddIn("x", elem, xs); AddIn("dy", elem, ys); AddOut("df", elem, fs); }
    PickAlgo();
  }
  ~ConvOp() override {
    cudnnDestroyConvolutionDescriptor(conv_);
    cudnnDestroyFilterDescriptor(f_);
  }

  void Run(int set) override {
    float one = 1, zero = 0;
    void* ws = ctx_.workspace.get();
    size_t wsb = OpContext::kWorkspaceBytes;
    if (phase_ == Phase::kFwd)
      PROTEUS_CUDNN(cudnnConvolutionForward(ctx_.cudnn, &one, x_->d, I("x", set).get(), f_, I("f", set).get(), conv_, fwd_,
                                            ws, wsb, &zero, y_->d, out_.at("y").get()));
    else if (phase_ == Phase::kBwdData)
      PROTEUS_CUDNN(cudnnConvolutionBackwardData(ctx_.cudnn, &one, f_, I("f", set).get(), y_->d, I("dy", set).get(), conv_,
                                                 bwd_data_, ws, wsb, &zero, x_->d, out_.at("dx").get()));
    else
      PROTEUS_CUDNN(cudnnConvolutionBackwardFilter(ctx_.cudnn, &one, x_->d, I("x", set).get(), y_->d, I("dy", set).get(),
                                                   conv_, bwd_filter_, ws, wsb, &zero, f_, out_.at("df").get()));
  }

 private:
  // First heuristic choice that succeeded and fits the workspace.
  template <class Perf, class Get>
  auto First(Get get) {
    Perf perf[16];
    int found = 0;
    PROTEUS_CUDNN(get(perf, &found));
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= size_t(OpContext::kWorkspaceBytes)) return perf[i].algo;
    throw UnsupportedError("cuDNN offers no convolution algorithm for this shape within the workspace");
  }
  void PickAlgo() {
    auto h = ctx_.cudnn;
    if (phase_ == Phase::kFwd)
      fwd_ = First<cudnnConvolutionFwdAlgoPerf_t>([&](auto* p, int* n) {
        return cudnnGetConvolutionForwardAlgorithm_v7(h, x_->d, f_, conv_, y_->d, 16, n, p); });
    else if (phase_ == Phase::kBwdData)
      bwd_data_ = First<cudnnConvolutionBwdDataAlgoPerf_t>([&](auto* p, int* n) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, f_, y_->d, conv_, x_->d, 16, n, p); });
    else
      bwd_filter_ = First<cudnnConvolutionBwdFilterAlgoPerf_t>([&](auto* p, int* n) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x_->d, y_->d, conv_, f_, 16, n, p); });
  }

  Phase phase_;
  std::unique_ptr<TensorDesc> x_, y_;
  cudnnFilterDescriptor_t f_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_{};
};

class BatchNormOp : public OpInstance {
 public:
  BatchNormOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), fwd_(key.phase == Phase::kFwd) {
    auto s = [&](const char* p) { return key.shape.at(p); };
    int64_t c = s("c"), n = s("n") * c * s("h") * s("w");
    x_ = std::make_unique<TensorDesc>(key.dtype, s("n"), c, s("h"), s("w"));
    PROTEUS_CUDNN(cudnnDeriveBNTensorDescriptor(bn_.d, x_->d, CUDNN_BATCHNORM_SPATIAL));
    AddIn("x", key.dtype, n);
    AddIn("scale", DType::kFp32, c);
    AddIn("bias", DType::kFp32, c);
    if (fwd_) {
      AddOut("y", key.dtype, n);
      for (const char* o : {"run_mean", "run_var", "save_mean", "save_invvar"}) AddOut(o, DType::kFp32, c);
    } else {
      AddIn("dy", key.dtype, n);
      AddIn("save_mean", DType::kFp32, c, 0.0f, 0.1f);
      AddIn("save_invvar", DType::kFp32, c, 0.5f, 1.5f);
      AddOut("dx", key.dtype, n);
      AddOut("dscale", DType::kFp32, c);
      AddOut("dbias", DType::kFp32, c);
    }
  }
  void Run(int set) override {
    float one = 1, zero = 0;
    constexpr double kEpsBn = 1e-5;
    if (fwd_)
      PROTEUS_CUDNN(cudnnBatchNormalizationForwardTraining(
          ctx_.cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, x_->d, I("x", set).get(), x_->d, out_.at("y").get(), bn_.d,
          I("scale", set).get(), I("bias", set).get(), 0.1, out_.at("run_mean").get(), out_.at("run_var").get(), kEpsBn,
          out_.at("save_mean").get(), out_.at("save_invvar").get()));
    else
      PROTEUS_CUDNN(cudnnBatchNormalizationBackward(
          ctx_.cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, x_->d, I("x", set).get(), x_->d, I("dy", set).get(),
          x_->d, out_.at("dx").get(), bn_.d, I("scale", set).get(), out_.at("dscale").get(), out_.at("dbias").get(), kEpsBn,
          I("save_mean", set).get(), I("save_invvar", set).get()));
  }

 private:
  bool fwd_;
  std::unique_ptr<TensorDesc> x_;
  TensorDesc bn_;
};

class PoolOp : public OpInstance {
 public:
  PoolOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), fwd_(key.phase == Phase::kFwd) {
    auto s = [&](const char* p) { return key.shape.at(p); };
    int win = int(s("window")), st = int(s("stride"));
    int64_t p = (s("h") - win) / st + 1, q = (s("w") - win) / st + 1;
    x_ = std::make_unique<TensorDesc>(key.dtype, s("n"), s("c"), s("h"), s("w"));
    y_ = std::make_unique<TensorDesc>(key.dtype, s("n"), s("c"), p, q);
    PROTEUS_CUDNN(cudnnCreatePoolingDescriptor(&pool_));
    auto mode = key.attrs.at("mode") == "max" ? CUDNN_POOLING_MAX : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    PROTEUS_CUDNN(cudnnSetPooling2dDescriptor(pool_, mode, CUDNN_NOT_PROPAGATE_NAN, win, win, 0, 0, st, st));
    int64_t xs = s("n") * s("c") * s("h") * s("w"), ys = s("n") * s("c") * p * q;
    AddIn("x", key.dtype, xs);
    if (fwd_) AddOut("y", key.dtype, ys);
    else { AddIn("y", key.dtype, ys); AddIn("dy", key.dtype, ys); AddOut("dx", key.dtype, xs); }
  }
  ~PoolOp() override { cudnnDestroyPoolingDescriptor(pool_); }
  void Run(int set) override {
    float one = 1, zero = 0;
    if (fwd_)
      PROTEUS_CUDNN(cudnnPoolingForward(ctx_.cudnn, pool_, &one, x_->d, I("x", set).get(), &zero, y_->d, out_.at("y").get()));
    else
      PROTEUS_CUDNN(cudnnPoolingBackward(ctx_.cudnn, pool_, &one, y_->d, I("y", set).get(), y_->d, I("dy", set).get(), x_->d,
                                         I("x", set).get(), &zero, x_->d, out_.at("dx").get()));
  }

 private:
  bool fwd_;
  std::unique_ptr<TensorDesc> x_, y_;
  cudnnPoolingDescriptor_t pool_ = nullptr;
};

}  // namespace

std::unique_ptr<OpInstance> CreateCudnnOp(const OpKey& key, OpContext& ctx, int sets) {
  if (key.kind == "conv2d") return std::make_unique<ConvOp>(key, ctx, sets);
  if (key.kind == "batchnorm") return std::make_unique<BatchNormOp>(key, ctx, sets);
  return std::make_unique<PoolOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
