// Row-wise ops, one thread block per row, fp32 statistics (proteus's own kernels; no library offers
// them as standalone calls):
//   layernorm  fwd  y = (x - mean) * rstd * g + b, saves mean, rstd
//              bwd_data  dx = rstd * (dy*g - mean(dy*g) - xhat * mean(dy*g*xhat))
//              bwd_weight dg = sum_rows dy*xhat, db = sum_rows dy (two kernels: partials, reduce)
//   rmsnorm    the same without the mean and without b
//   softmax    fwd y = exp(x - max) / sum;  bwd_data dx = y * (dy - sum(dy*y))
//   cross_entropy fwd loss = logsumexp(x) - x[target] (saves lse); bwd_data dx = (softmax - onehot)/T
#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/dtype_traits.cuh"
#include "profiler/cuda/ops.h"
#include "profiler/cuda/reduce.cuh"

namespace proteus::profiler {
namespace {

constexpr float kEps = 1e-5f;
constexpr int kThreads = 256;
constexpr int kWeightSlices = 128;  // row slices of the bwd_weight partial sums

template <class T, bool kRms>
__global__ void proteus_norm_fwd(const T* x, const T* g, const T* b, T* y, float* mean_out, float* rstd_out, int cols) {
  const T* xr = x + int64_t(blockIdx.x) * cols;
  T* yr = y + int64_t(blockIdx.x) * cols;
  float s = 0, s2 = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = ToF(xr[j]);
    s += v;
    s2 += v * v;
  }
  s = BlockSum(s);
  s2 = BlockSum(s2);
  float mean = kRms ? 0.f : s / cols;
  float var = s2 / cols - (kRms ? 0.f : mean * mean);
  float rstd = rsqrtf(fmaxf(var, 0.f) + kEps);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float v = (ToF(xr[j]) - mean) * rstd * ToF(g[j]);
    yr[j] = FromF<T>(kRms ? v : v + ToF(b[j]));
  }
  if (threadIdx.x == 0) {
    mean_out[blockIdx.x] = mean;
    rstd_out[blockIdx.x] = rstd;
  }
}

template <class T, bool kRms>
__global__ void proteus_norm_bwd_data(const T* x, const T* dy, const T* g, const float* mean, const float* rstd, T* dx, int cols) {
  int64_t off = int64_t(blockIdx.x) * cols;
  float mu = mean[blockIdx.x], rs = rstd[blockIdx.x];
  float a = 0, c = 0;  // sums of dy*g and dy*g*xhat
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float dyg = ToF(dy[off + j]) * ToF(g[j]);
    a += dyg;
    c += dyg * (ToF(x[off + j]) - mu) * rs;
  }
  a = BlockSum(a) / cols;
  c = BlockSum(c) / cols;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float xhat = (ToF(x[off + j]) - mu) * rs;
    float dyg = ToF(dy[off + j]) * ToF(g[j]);
    dx[off + j] = FromF<T>(rs * (dyg - (kRms ? 0.f : a) - xhat * c));
  }
}

// Partial column sums over a slice of rows: part[slice][col] (and part_b for the bias).
template <class T, bool kRms>
__global__ void proteus_norm_bwd_weight_partial(const T* x, const T* dy, const float* mean, const float* rstd,
                                                float* part_g, float* part_b, int64_t rows, int cols) {
  int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  float sg = 0, sb = 0;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    float d = ToF(dy[r * cols + col]);
    sg += d * (ToF(x[r * cols + col]) - mean[r]) * rstd[r];
    sb += d;
  }
  part_g[int64_t(blockIdx.y) * cols + col] = sg;
  if (!kRms) part_b[int64_t(blockIdx.y) * cols + col] = sb;
}

template <class T, bool kRms>
__global__ void proteus_norm_bwd_weight_reduce(const float* part_g, const float* part_b, T* dg, T* db, int slices, int cols) {
  int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  float sg = 0, sb = 0;
  for (int s = 0; s < slices; ++s) {
    sg += part_g[int64_t(s) * cols + col];
    if (!kRms) sb += part_b[int64_t(s) * cols + col];
  }
  dg[col] = FromF<T>(sg);
  if (!kRms) db[col] = FromF<T>(sb);
}

template <class T>
__global__ void proteus_softmax_fwd(const T* x, T* y, int cols) {
  int64_t off = int64_t(blockIdx.x) * cols;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, ToF(x[off + j]));
  mx = BlockMax(mx);
  float s = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += __expf(ToF(x[off + j]) - mx);
  float inv = 1.f / BlockSum(s);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) y[off + j] = FromF<T>(__expf(ToF(x[off + j]) - mx) * inv);
}

template <class T>
__global__ void proteus_softmax_bwd(const T* y, const T* dy, T* dx, int cols) {
  int64_t off = int64_t(blockIdx.x) * cols;
  float dot = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) dot += ToF(y[off + j]) * ToF(dy[off + j]);
  dot = BlockSum(dot);
  for (int j = threadIdx.x; j < cols; j += blockDim.x)
    dx[off + j] = FromF<T>(ToF(y[off + j]) * (ToF(dy[off + j]) - dot));
}

template <class T>
__global__ void proteus_xent_fwd(const T* logits, const int32_t* target, float* loss, float* lse_out, int cols) {
  int64_t off = int64_t(blockIdx.x) * cols;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, ToF(logits[off + j]));
  mx = BlockMax(mx);
  float s = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += __expf(ToF(logits[off + j]) - mx);
  s = BlockSum(s);
  if (threadIdx.x == 0) {
    float lse = mx + __logf(s);
    lse_out[blockIdx.x] = lse;
    loss[blockIdx.x] = lse - ToF(logits[off + target[blockIdx.x]]);
  }
}

template <class T>
__global__ void proteus_xent_bwd(const T* logits, const int32_t* target, const float* lse, T* dx, int cols, float dloss) {
  int64_t off = int64_t(blockIdx.x) * cols;
  float l = lse[blockIdx.x];
  int t = target[blockIdx.x];
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float p = __expf(ToF(logits[off + j]) - l);
    dx[off + j] = FromF<T>((p - (j == t ? 1.f : 0.f)) * dloss);
  }
}

class RowOp : public OpInstance {
 public:
  RowOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), key_(key) {
    bool xent = key.kind == "cross_entropy";
    rows_ = xent ? key.shape.at("tokens") : key.shape.at("rows");
    cols_ = xent ? key.shape.at("vocab") : key.shape.at("cols");
    DType t = key.dtype;
    int64_t n = rows_ * cols_;
    AddIn("x", t, n);
    if (key.kind == "layernorm" || key.kind == "rmsnorm") {
      AddIn("g", t, cols_);
      AddIn("b", t, cols_);
      AddIn("mean", DType::kFp32, rows_, 0.0f, 0.1f);
      AddIn("rstd", DType::kFp32, rows_, 0.5f, 1.5f);
      if (key.phase != Phase::kFwd) AddIn("dy", t, n);
      if (key.phase == Phase::kFwd) { AddOut("y", t, n); AddOut("mean", DType::kFp32, rows_); AddOut("rstd", DType::kFp32, rows_); }
      if (key.phase == Phase::kBwdData) AddOut("dx", t, n);
      if (key.phase == Phase::kBwdWeight) {
        AddOut("part_g", DType::kFp32, kWeightSlices * cols_);
        AddOut("part_b", DType::kFp32, kWeightSlices * cols_);
        AddOut("dg", t, cols_);
        AddOut("db", t, cols_);
      }
    } else if (key.kind == "softmax") {
      if (key.phase == Phase::kFwd) AddOut("y", t, n);
      else { AddIn("dy", t, n); AddOut("dx", t, n); }  // x plays y (the saved output)
    } else {
      AddIndices("target", rows_, cols_);
      if (key.phase == Phase::kFwd) { AddOut("loss", DType::kFp32, rows_); AddOut("lse", DType::kFp32, rows_); }
      else { AddIn("lse", DType::kFp32, rows_, 5.0f, 6.0f); AddOut("dx", t, n); }
    }
  }

  void Run(int set) override {
    DispatchFloat(key_.dtype, [&]<class T>() { Launch<T>(set); });
    PROTEUS_LAUNCH_CHECK();
  }

 private:
  template <class T>
  void Launch(int set) {
    unsigned rows = unsigned(rows_);
    int cols = int(cols_);
    cudaStream_t s = ctx_.stream;
    const std::string& k = key_.kind;
    if (k == "layernorm" || k == "rmsnorm") {
      bool rms = k == "rmsnorm";
      if (key_.phase == Phase::kFwd) {
        auto f = rms ? proteus_norm_fwd<T, true> : proteus_norm_fwd<T, false>;
        f<<<rows, kThreads, 0, s>>>(P<T>("x", set), P<T>("g", set), P<T>("b", set), O<T>("y"), O<float>("mean"), O<float>("rstd"), cols);
      } else if (key_.phase == Phase::kBwdData) {
        auto f = rms ? proteus_norm_bwd_data<T, true> : proteus_norm_bwd_data<T, false>;
        f<<<rows, kThreads, 0, s>>>(P<T>("x", set), P<T>("dy", set), P<T>("g", set), P<float>("mean", set), P<float>("rstd", set), O<T>("dx"), cols);
      } else {
        dim3 grid(unsigned((cols + 255) / 256), kWeightSlices);
        auto f = rms ? proteus_norm_bwd_weight_partial<T, true> : proteus_norm_bwd_weight_partial<T, false>;
        f<<<grid, 256, 0, s>>>(P<T>("x", set), P<T>("dy", set), P<float>("mean", set), P<float>("rstd", set), O<float>("part_g"), O<float>("part_b"), rows_, cols);
        auto r = rms ? proteus_norm_bwd_weight_reduce<T, true> : proteus_norm_bwd_weight_reduce<T, false>;
        r<<<unsigned((cols + 255) / 256), 256, 0, s>>>(O<float>("part_g"), O<float>("part_b"), O<T>("dg"), O<T>("db"), kWeightSlices, cols);
      }
    } else if (k == "softmax") {
      if (key_.phase == Phase::kFwd) proteus_softmax_fwd<T><<<rows, kThreads, 0, s>>>(P<T>("x", set), O<T>("y"), cols);
      else proteus_softmax_bwd<T><<<rows, kThreads, 0, s>>>(P<T>("x", set), P<T>("dy", set), O<T>("dx"), cols);
    } else {
      const int32_t* tgt = static_cast<const int32_t*>(I("target", set).get());
      if (key_.phase == Phase::kFwd) proteus_xent_fwd<T><<<rows, kThreads, 0, s>>>(P<T>("x", set), tgt, O<float>("loss"), O<float>("lse"), cols);
      else proteus_xent_bwd<T><<<rows, kThreads, 0, s>>>(P<T>("x", set), tgt, P<float>("lse", set), O<T>("dx"), cols, 1.f / float(rows_));
    }
  }

  OpKey key_;
  int64_t rows_, cols_;
};

}  // namespace

std::unique_ptr<OpInstance> CreateRowOp(const OpKey& key, OpContext& ctx, int sets) {
  return std::make_unique<RowOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
