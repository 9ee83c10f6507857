// Attention as proteus-profile measures it: NOT a fused (flash) kernel. The cuDNN frontend is not
// available to this build and the cuDNN backend graph API for SDPA was not attempted, so attention
// is an unfused composition, and the database's kernel names say so (cublasLt kernels and
// proteus_attn_softmax*): per chunk of (batch, kv head) groups
//   fwd: S = Q K^T (cuBLASLt batched), P = softmax(S / sqrt(d)) with the causal mask, O = P V
//   bwd: dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)) / sqrt(d), dQ = dS K, dK = dS^T Q
// GQA: the heads/kv_heads query heads of one kv head are contiguous in Q [b, h, s, d], so one
// group is a (G*seq_q) x d matrix against its K, V (seq_kv x d) and the kv-head gradient sums over
// the group inside the gemm. S and P are materialized (chunks of at most 1 GiB), so at long
// sequences this is slower than FlashAttention (docs/profiler.md says by how much to expect).
#include <cmath>
#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/dtype_traits.cuh"
#include "profiler/cuda/lt_gemm.h"
#include "profiler/cuda/reduce.cuh"

namespace proteus::profiler {
namespace {

constexpr int64_t kScoreChunkBytes = int64_t{1} << 30;

// Row r of a chunk is query position (r % (G*sq)) % sq; causal keys j <= qpos + (skv - sq).
template <class T>
__global__ void proteus_attn_softmax_fwd(T* s, int64_t rows, int cols, int group_rows, int sq, float scale, bool causal) {
  int64_t row = blockIdx.x;
  T* x = s + row * int64_t(cols);
  int qpos = int(row % group_rows) % sq;
  int limit = causal ? min(cols, qpos + (cols - sq) + 1) : cols;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < limit; j += blockDim.x) mx = fmaxf(mx, ToF(x[j]) * scale);
  mx = BlockMax(mx);
  float sum = 0;
  for (int j = threadIdx.x; j < limit; j += blockDim.x) sum += __expf(ToF(x[j]) * scale - mx);
  float inv = 1.f / BlockSum(sum);
  for (int j = threadIdx.x; j < cols; j += blockDim.x)
    x[j] = FromF<T>(j < limit ? __expf(ToF(x[j]) * scale - mx) * inv : 0.f);
}

// dS = P * (dP - sum_j dP*P) * scale, in place over dP.
template <class T>
__global__ void proteus_attn_softmax_bwd(const T* p, T* dp, int cols, float scale) {
  int64_t row = blockIdx.x;
  const T* y = p + row * int64_t(cols);
  T* g = dp + row * int64_t(cols);
  float dot = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) dot += ToF(y[j]) * ToF(g[j]);
  dot = BlockSum(dot);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) g[j] = FromF<T>(ToF(y[j]) * (ToF(g[j]) - dot) * scale);
}

class AttentionOp : public OpInstance {
 public:
  AttentionOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), key_(key) {
    b_ = key.shape.at("batch"), h_ = key.shape.at("heads"), kvh_ = key.shape.at("kv_heads");
    sq_ = key.shape.at("seq_q"), skv_ = key.shape.at("seq_kv"), d_ = key.shape.at("head_dim");
    causal_ = key.attrs.at("causal") == "1";
    t_ = key.dtype;
    groups_ = b_ * kvh_;
    grows_ = (h_ / kvh_) * sq_;
    int64_t per_group = grows_ * skv_ * DTypeBytes(t_);
    chunk_ = std::max<int64_t>(1, std::min<int64_t>(groups_, kScoreChunkBytes / per_group));
    fwd_ = key.phase == Phase::kFwd;
    AddIn("K", t_, groups_ * skv_ * d_);
    AddIn("V", t_, groups_ * skv_ * d_);
    AddOut("S", t_, chunk_ * grows_ * skv_);  // scores / probabilities of one chunk
    if (fwd_) {
      AddIn("Q", t_, groups_ * grows_ * d_);
      AddOut("O", t_, groups_ * grows_ * d_);
    } else {
      AddIn("Q", t_, groups_ * grows_ * d_);
      AddIn("dO", t_, groups_ * grows_ * d_);
      AddIn("P", t_, chunk_ * grows_ * skv_, 0.0f, 1.0f / float(skv_));  // saved probabilities
      AddOut("dQ", t_, groups_ * grows_ * d_);
      AddOut("dK", t_, groups_ * skv_ * d_);
      AddOut("dV", t_, groups_ * skv_ * d_);
    }
    for (int64_t n : {chunk_, groups_ % chunk_}) {
      if (n == 0 || gemms_.count(n)) continue;
      gemms_[n] = MakeGemms(n);
    }
  }

  void Run(int set) override {
    for (int64_t g0 = 0; g0 < groups_; g0 += chunk_) {
      int64_t n = std::min(chunk_, groups_ - g0);
      fwd_ ? Forward(set, g0, n) : Backward(set, g0, n);
    }
  }

 private:
  struct Gemms { std::vector<std::unique_ptr<LtGemm>> g; };
  DType Math() const { return t_; }

  Gemms MakeGemms(int64_t n) {
    Gemms gs;
    auto mk = [&](int64_t p, int64_t q, int64_t r, bool yt, bool zt) {
      gs.g.push_back(std::make_unique<LtGemm>(ctx_, p, q, r, n, LtOperand{t_, yt}, LtOperand{t_, zt}, t_, Math()));
    };
    if (fwd_) {
      mk(grows_, skv_, d_, false, true);    // S = Q K^T
      mk(grows_, d_, skv_, false, false);   // O = P V
    } else {
      mk(skv_, d_, grows_, true, false);    // dV = P^T dO
      mk(grows_, skv_, d_, false, true);    // dP = dO V^T
      mk(grows_, d_, skv_, false, false);   // dQ = dS K
      mk(skv_, d_, grows_, true, false);    // dK = dS^T Q
    }
    return gs;
  }

  char* At(const Tensor& t, int64_t group, int64_t per_group) const {
    return static_cast<char*>(t.get()) + group * per_group * DTypeBytes(t_);
  }

  void Forward(int set, int64_t g0, int64_t n) {
    auto& gs = gemms_.at(n).g;
    void* s = out_.at("S").get();
    gs[0]->Run(At(I("Q", set), g0, grows_ * d_), At(I("K", set), g0, skv_ * d_), s);
    float scale = 1.f / std::sqrt(float(d_));
    DispatchFloat(t_, [&]<class T>() {
      proteus_attn_softmax_fwd<T><<<unsigned(n * grows_), 256, 0, ctx_.stream>>>(
          static_cast<T*>(s), n * grows_, int(skv_), int(grows_), int(sq_), scale, causal_);
    });
    PROTEUS_LAUNCH_CHECK();
    gs[1]->Run(s, At(I("V", set), g0, skv_ * d_), At(out_.at("O"), g0, grows_ * d_));
  }

  void Backward(int set, int64_t g0, int64_t n) {
    auto& gs = gemms_.at(n).g;
    const void* p = I("P", set).get();
    void* ds = out_.at("S").get();
    const char* d_o = At(I("dO", set), g0, grows_ * d_);
    gs[0]->Run(p, d_o, At(out_.at("dV"), g0, skv_ * d_));
    gs[1]->Run(d_o, At(I("V", set), g0, skv_ * d_), ds);
    float scale = 1.f / std::sqrt(float(d_));
    DispatchFloat(t_, [&]<class T>() {
      proteus_attn_softmax_bwd<T><<<unsigned(n * grows_), 256, 0, ctx_.stream>>>(static_cast<const T*>(p),
                                                                                 static_cast<T*>(ds), int(skv_), scale);
    });
    PROTEUS_LAUNCH_CHECK();
    gs[2]->Run(ds, At(I("K", set), g0, skv_ * d_), At(out_.at("dQ"), g0, grows_ * d_));
    gs[3]->Run(ds, At(I("Q", set), g0, grows_ * d_), At(out_.at("dK"), g0, skv_ * d_));
  }

  OpKey key_;
  int64_t b_, h_, kvh_, sq_, skv_, d_, groups_, grows_, chunk_;
  bool causal_, fwd_;
  DType t_;
  std::map<int64_t, Gemms> gemms_;
};

}  // namespace

std::unique_ptr<OpInstance> CreateAttentionOp(const OpKey& key, OpContext& ctx, int sets) {
  return std::make_unique<AttentionOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
