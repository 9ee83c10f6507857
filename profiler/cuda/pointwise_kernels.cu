// Element-wise and gather/scatter ops (proteus's own kernels, grid-stride loops, fp32 math):
//   gelu      fwd y = 0.5 x (1 + tanh(0.79788456 (x + 0.044715 x^3)));  bwd_data dx = dy * gelu'(x)
//   swiglu    in [rows, 2*cols] = [gate | up] per row: fwd y = silu(gate) * up;
//             bwd_data d_gate = dy * up * silu'(gate), d_up = dy * silu(gate)
//   dropout   fwd keep with probability 0.9 (hash of seed and index), writes the 1-byte mask,
//             y = x * mask / 0.9;  bwd_data dx = dy * mask / 0.9
//   add       c = a + b
//   rope      x [tokens, heads, head_dim], pairs (i, i + d/2) rotated by pos * 10000^(-2i/d)
//             (GPT-NeoX / Llama layout), pos = token index; bwd_data rotates by -angle
//   embedding fwd out[t] = table[idx[t]];  bwd_weight dtable[idx[t]] += dout[t] (fp32 atomics into
//             an fp32 gradient, as Megatron's main_grad)
//   adam      fused step over fp32 master params, grads, m, v (lr 1e-4, betas 0.9/0.95, eps 1e-8,
//             wd 0.1); a bf16/fp16 key also writes the model's copy of the weights in that dtype
#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/dtype_traits.cuh"
#include "profiler/cuda/ops.h"

namespace proteus::profiler {
namespace {

constexpr float kKeep = 0.9f;

#define PROTEUS_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__device__ __forceinline__ float Gelu(float x) {
  return 0.5f * x * (1.f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float GeluGrad(float x) {
  float u = 0.7978845608f * (x + 0.044715f * x * x * x);
  float t = tanhf(u);
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * 0.7978845608f * (1.f + 3.f * 0.044715f * x * x);
}
__device__ __forceinline__ float Sigmoid(float x) { return 1.f / (1.f + __expf(-x)); }

template <class T>
__global__ void proteus_gelu_fwd(const T* x, T* y, int64_t n) { PROTEUS_GRID_LOOP(i, n) y[i] = FromF<T>(Gelu(ToF(x[i]))); }
template <class T>
__global__ void proteus_gelu_bwd(const T* x, const T* dy, T* dx, int64_t n) {
  PROTEUS_GRID_LOOP(i, n) dx[i] = FromF<T>(ToF(dy[i]) * GeluGrad(ToF(x[i])));
}

template <class T>
__global__ void proteus_swiglu_fwd(const T* in, T* y, int64_t rows, int64_t cols) {
  PROTEUS_GRID_LOOP(i, rows * cols) {
    int64_t r = i / cols, c = i % cols;
    float g = ToF(in[r * 2 * cols + c]), u = ToF(in[r * 2 * cols + cols + c]);
    y[i] = FromF<T>(g * Sigmoid(g) * u);
  }
}
template <class T>
__global__ void proteus_swiglu_bwd(const T* in, const T* dy, T* din, int64_t rows, int64_t cols) {
  PROTEUS_GRID_LOOP(i, rows * cols) {
    int64_t r = i / cols, c = i % cols;
    float g = ToF(in[r * 2 * cols + c]), u = ToF(in[r * 2 * cols + cols + c]), d = ToF(dy[i]);
    float s = Sigmoid(g);
    din[r * 2 * cols + c] = FromF<T>(d * u * s * (1.f + g * (1.f - s)));
    din[r * 2 * cols + cols + c] = FromF<T>(d * g * s);
  }
}

template <class T>
__global__ void proteus_dropout_fwd(const T* x, T* y, uint8_t* mask, int64_t n, uint64_t seed) {
  PROTEUS_GRID_LOOP(i, n) {
    uint8_t keep = Uniform01(seed, uint64_t(i)) < kKeep;
    mask[i] = keep;
    y[i] = FromF<T>(keep ? ToF(x[i]) / kKeep : 0.f);
  }
}
__global__ void proteus_dropout_mask(uint8_t* mask, int64_t n, uint64_t seed) {
  PROTEUS_GRID_LOOP(i, n) mask[i] = Uniform01(seed, uint64_t(i)) < kKeep;
}
template <class T>
__global__ void proteus_dropout_bwd(const T* dy, const uint8_t* mask, T* dx, int64_t n) {
  PROTEUS_GRID_LOOP(i, n) dx[i] = FromF<T>(mask[i] ? ToF(dy[i]) / kKeep : 0.f);
}

template <class T>
__global__ void proteus_add(const T* a, const T* b, T* c, int64_t n) { PROTEUS_GRID_LOOP(i, n) c[i] = FromF<T>(ToF(a[i]) + ToF(b[i])); }

template <class T>
__global__ void proteus_rope(const T* x, T* y, int64_t tokens, int64_t heads, int64_t dim, float sign) {
  int64_t half = dim / 2;
  PROTEUS_GRID_LOOP(i, tokens * heads * half) {
    int64_t j = i % half, th = i / half, t = th / heads;
    float inv_freq = __powf(10000.f, -2.f * float(j) / float(dim));
    float s, c;
    __sincosf(float(t) * inv_freq, &s, &c);
    s *= sign;
    int64_t base = th * dim;
    float a = ToF(x[base + j]), b = ToF(x[base + j + half]);
    y[base + j] = FromF<T>(a * c - b * s);
    y[base + j + half] = FromF<T>(b * c + a * s);
  }
}

template <class T>
__global__ void proteus_embedding_fwd(const T* table, const int32_t* idx, T* out, int64_t tokens, int64_t hidden) {
  PROTEUS_GRID_LOOP(i, tokens * hidden) out[i] = table[int64_t(idx[i / hidden]) * hidden + i % hidden];
}
template <class T>
__global__ void proteus_embedding_bwd(const T* dout, const int32_t* idx, float* dtable, int64_t tokens, int64_t hidden) {
  PROTEUS_GRID_LOOP(i, tokens * hidden) atomicAdd(&dtable[int64_t(idx[i / hidden]) * hidden + i % hidden], ToF(dout[i]));
}

template <class T>
__global__ void proteus_adam(float* p, const float* g, float* m, float* v, T* model_p, int64_t n, float lr, float b1,
                             float b2, float eps, float wd, float c1, float c2) {
  PROTEUS_GRID_LOOP(i, n) {
    float gi = g[i];
    float mi = b1 * m[i] + (1.f - b1) * gi;
    float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = p[i] - lr * ((mi / c1) / (sqrtf(vi / c2) + eps) + wd * p[i]);
    p[i] = pi;
    if (model_p) model_p[i] = FromF<T>(pi);  // the bf16/fp16 weights the model computes with
  }
}

class PointwiseOp : public OpInstance {
 public:
  PointwiseOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), key_(key) {
    const std::string& k = key.kind;
    DType t = key.dtype;
    bool fwd = key.phase == Phase::kFwd;
    if (k == "gelu" || k == "dropout" || k == "add") {
      n_ = key.shape.at("elements");
      AddIn("x", t, n_);
      if (k == "add") AddIn("b", t, n_);
      if (!fwd && k != "add") AddIn("dy", t, n_);  // add's backward sums two gradients: x + b
      if (k == "dropout") {
        AddOut("mask", DType::kFp8E4M3, n_);  // one byte per element
        if (!fwd) {  // the mask the forward saved
          proteus_dropout_mask<<<GridFor(n_), 256, 0, ctx.stream>>>(O<uint8_t>("mask"), n_, 1234);
          PROTEUS_LAUNCH_CHECK();
        }
      }
      AddOut("y", t, n_);
    } else if (k == "swiglu") {
      rows_ = key.shape.at("rows"), cols_ = key.shape.at("cols");
      AddIn("x", t, rows_ * 2 * cols_);
      if (!fwd) { AddIn("dy", t, rows_ * cols_); AddOut("y", t, rows_ * 2 * cols_); }
      else AddOut("y", t, rows_ * cols_);
    } else if (k == "rope") {
      rows_ = key.shape.at("tokens"), heads_ = key.shape.at("heads"), cols_ = key.shape.at("head_dim");
      AddIn("x", t, rows_ * heads_ * cols_);
      AddOut("y", t, rows_ * heads_ * cols_);
    } else if (k == "embedding") {
      rows_ = key.shape.at("tokens"), vocab_ = key.shape.at("vocab"), cols_ = key.shape.at("hidden");
      AddIndices("idx", rows_, vocab_);
      if (fwd) { AddIn("table", t, vocab_ * cols_); AddOut("y", t, rows_ * cols_); }
      else { AddIn("dy", t, rows_ * cols_); AddOut("dtable", DType::kFp32, vocab_ * cols_); }
    } else if (k == "adam") {
      n_ = key.shape.at("params");
      AddIn("g", DType::kFp32, n_, 1e-4f, 1e-2f);
      AddOut("p", DType::kFp32, n_);
      AddOut("m", DType::kFp32, n_);
      AddOut("v", DType::kFp32, n_);
      FillConstant(out_.at("v").get(), DType::kFp32, n_, 1e-4f, ctx.stream);  // a second moment is positive
      if (t != DType::kFp32) AddOut("model_p", t, n_);
    } else {
      throw UnsupportedError("no proteus kernel for op kind " + k);
    }
  }

  void Run(int set) override {
    if (key_.kind == "adam") {
      DispatchFloat(key_.dtype, [&]<class T>() {
        T* model_p = key_.dtype == DType::kFp32 ? nullptr : O<T>("model_p");
        proteus_adam<T><<<GridFor(n_), 256, 0, ctx_.stream>>>(O<float>("p"), P<float>("g", set), O<float>("m"),
                                                              O<float>("v"), model_p, n_, 1e-4f, 0.9f, 0.95f, 1e-8f,
                                                              0.1f, 0.1f, 0.05f);
      });
    } else {
      DispatchFloat(key_.dtype, [&]<class T>() { Launch<T>(set); });
    }
    PROTEUS_LAUNCH_CHECK();
  }

 private:
  template <class T>
  void Launch(int set) {
    cudaStream_t s = ctx_.stream;
    const std::string& k = key_.kind;
    bool fwd = key_.phase == Phase::kFwd;
    if (k == "gelu") {
      if (fwd) proteus_gelu_fwd<T><<<GridFor(n_), 256, 0, s>>>(P<T>("x", set), O<T>("y"), n_);
      else proteus_gelu_bwd<T><<<GridFor(n_), 256, 0, s>>>(P<T>("x", set), P<T>("dy", set), O<T>("y"), n_);
    } else if (k == "dropout") {
      if (fwd) proteus_dropout_fwd<T><<<GridFor(n_), 256, 0, s>>>(P<T>("x", set), O<T>("y"), O<uint8_t>("mask"), n_, 1234 + set);
      else proteus_dropout_bwd<T><<<GridFor(n_), 256, 0, s>>>(P<T>("dy", set), O<uint8_t>("mask"), O<T>("y"), n_);
    } else if (k == "add") {
      proteus_add<T><<<GridFor(n_), 256, 0, s>>>(P<T>("x", set), P<T>("b", set), O<T>("y"), n_);
    } else if (k == "swiglu") {
      int64_t n = rows_ * cols_;
      if (fwd) proteus_swiglu_fwd<T><<<GridFor(n), 256, 0, s>>>(P<T>("x", set), O<T>("y"), rows_, cols_);
      else proteus_swiglu_bwd<T><<<GridFor(n), 256, 0, s>>>(P<T>("x", set), P<T>("dy", set), O<T>("y"), rows_, cols_);
    } else if (k == "rope") {
      int64_t n = rows_ * heads_ * cols_ / 2;
      proteus_rope<T><<<GridFor(n), 256, 0, s>>>(P<T>("x", set), O<T>("y"), rows_, heads_, cols_, fwd ? 1.f : -1.f);
    } else if (k == "embedding") {
      const int32_t* idx = static_cast<const int32_t*>(I("idx", set).get());
      int64_t n = rows_ * cols_;
      if (fwd) proteus_embedding_fwd<T><<<GridFor(n), 256, 0, s>>>(P<T>("table", set), idx, O<T>("y"), rows_, cols_);
      else proteus_embedding_bwd<T><<<GridFor(n), 256, 0, s>>>(P<T>("dy", set), idx, O<float>("dtable"), rows_, cols_);
    }
  }

  OpKey key_;
  int64_t n_ = 0, rows_ = 0, cols_ = 0, heads_ = 0, vocab_ = 0;
};

}  // namespace

std::unique_ptr<OpInstance> CreatePointwiseOp(const OpKey& key, OpContext& ctx, int sets) {
  return std::make_unique<PointwiseOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
