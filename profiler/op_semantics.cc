#include "profiler/op_semantics.h"

#include <algorithm>
#include <cmath>

namespace proteus::profiler {
namespace {

using P = Phase;
const std::vector<DType> kFloat = {DType::kFp32, DType::kFp16, DType::kBf16};

int64_t S(const OpKey& k, const char* p) { return k.shape.at(p); }

double Ebytes(DType t) { return static_cast<double>(DTypeBytes(t)); }

// gemm/bgemm: fp8 products write bf16, everything else writes its own type.
double OutBytes(DType t) {
  return (t == DType::kFp8E4M3 || t == DType::kFp8E5M2) ? 2.0 : Ebytes(t);
}

OpWork GemmWork(const OpKey& k, double batch) {
  double m = S(k, "m"), n = S(k, "n"), kk = S(k, "k"), e = Ebytes(k.dtype), o = OutBytes(k.dtype);
  double in_elems = 0, out_elems = 0;
  switch (k.phase) {
    case P::kFwd: in_elems = m * kk + kk * n; out_elems = m * n; break;        // C = A B
    case P::kBwdData: in_elems = m * n + kk * n; out_elems = m * kk; break;    // dA = dC B^T
    default: in_elems = m * kk + m * n; out_elems = kk * n; break;             // dB = A^T dC
  }
  return {2 * batch * m * n * kk, batch * (in_elems * e + out_elems * o), 1};
}

// Attention as proteus measures it (attention.cu): per (batch, kv head) a batched gemm S = Q K^T,
// a softmax that writes P, and O = P V; the backward recomputes nothing (P is kept) and runs four
// gemms and a softmax backward. S and P are materialized in the input dtype.
OpWork AttentionWork(const OpKey& k) {
  double b = S(k, "batch"), h = S(k, "heads"), sq = S(k, "seq_q"), skv = S(k, "seq_kv"),
         d = S(k, "head_dim"), kvh = S(k, "kv_heads"), e = Ebytes(k.dtype);
  double scores = b * h * sq * skv;
  double qo = b * h * sq * d, kv = b * kvh * skv * d;
  bool causal = k.attrs.count("causal") && k.attrs.at("causal") == "1";
  double useful = causal ? 0.5 : 1.0;  // flops a causal kernel needs; the composition computes all
  if (k.phase == P::kFwd)
    return {4 * scores * d * useful, (2 * qo + 2 * kv + 4 * scores) * e, 3};
  return {8 * scores * d * useful, (4 * qo + 4 * kv + 6 * scores) * e, 6};
}

OpWork RowWork(const OpKey& k, double passes_fwd, double passes_bwd, double flop_per_elem) {
  double n = double(S(k, "rows")) * double(S(k, "cols")), e = Ebytes(k.dtype);
  double passes = k.phase == P::kFwd ? passes_fwd : passes_bwd;
  return {flop_per_elem * n, passes * n * e, k.phase == P::kBwdWeight ? 2 : 1};
}

OpWork ElemWork(const OpKey& k, double passes_fwd, double passes_bwd, double flop_per_elem) {
  double n = double(S(k, "elements")), e = Ebytes(k.dtype);
  return {flop_per_elem * n, (k.phase == P::kFwd ? passes_fwd : passes_bwd) * n * e, 1};
}

double ConvOutDim(double in, double win, double stride, double pad) {
  return std::max(0.0, std::floor((in + 2 * pad - win) / std::max(1.0, stride)) + 1);
}

OpWork ConvWork(const OpKey& k) {
  double n = S(k, "n"), c = S(k, "c"), h = S(k, "h"), w = S(k, "w"), kk = S(k, "k"), r = S(k, "r"),
         s = S(k, "s"), st = S(k, "stride"), pad = S(k, "pad"), e = Ebytes(k.dtype);
  double p = ConvOutDim(h, r, st, pad), q = ConvOutDim(w, s, st, pad);
  double x = n * c * h * w, y = n * kk * p * q, f = kk * c * r * s;
  return {2 * n * kk * p * q * c * r * s, (x + y + f) * e, 1};
}

}  // namespace

std::vector<Phase> PhasesOf(const std::string& kind) {
  if (kind == "gemm" || kind == "bgemm" || kind == "conv2d" || kind == "layernorm" ||
      kind == "rmsnorm")
    return {P::kFwd, P::kBwdData, P::kBwdWeight};
  if (kind == "embedding") return {P::kFwd, P::kBwdWeight};
  // add's bwd_data is the gradient accumulation where a residual branch rejoins: one add kernel.
  if (kind == "add") return {P::kFwd, P::kBwdData};
  if (kind == "copy") return {P::kFwd};
  if (kind == "adam") return {P::kStep};
  if (FindOpKind(kind)) return {P::kFwd, P::kBwdData};
  return {};
}

std::vector<DType> DTypesOf(const std::string& kind) {
  if (kind == "gemm" || kind == "bgemm")
    return {DType::kFp32, DType::kTf32, DType::kFp16, DType::kBf16, DType::kFp8E4M3, DType::kFp8E5M2};
  if (kind == "conv2d") return {DType::kFp32, DType::kTf32, DType::kFp16, DType::kBf16};
  if (kind == "adam") return kFloat;  // the model's weight dtype; states are always fp32
  if (kind == "copy")  // bytes are bytes: any dtype names the same copy
    return {DType::kFp32, DType::kTf32, DType::kFp16, DType::kBf16, DType::kFp8E4M3,
            DType::kFp8E5M2, DType::kInt32, DType::kInt64};
  if (FindOpKind(kind)) return kFloat;
  return {};
}

std::vector<AttrSpec> AttrsOf(const std::string& kind) {
  if (kind == "attention") return {{"causal", {"0", "1"}}};
  if (kind == "pool") return {{"mode", {"max", "avg"}}};
  if (kind == "copy") return {{"dir", {"d2d", "h2d", "d2h", "peer"}}};
  return {};
}

std::string OpClass(const std::string& kind) {
  if (kind == "gemm" || kind == "bgemm") return "gemm";
  if (kind == "attention") return "attention";
  if (kind == "layernorm" || kind == "rmsnorm" || kind == "softmax" || kind == "batchnorm" ||
      kind == "cross_entropy")
    return "norm";
  if (kind == "conv2d") return "conv";
  if (kind == "adam") return "optimizer";
  if (kind == "copy") return "copy";
  if (kind == "embedding" || kind == "pool") return "memory";
  return "elementwise";
}

OpWork WorkOf(const OpKey& k) {
  const std::string& kind = k.kind;
  double e = Ebytes(k.dtype);
  if (kind == "gemm") return GemmWork(k, 1);
  if (kind == "bgemm") return GemmWork(k, double(S(k, "batch")));
  if (kind == "attention") return AttentionWork(k);
  if (kind == "layernorm") return RowWork(k, 2, 3, 8);   // fwd: x->y; bwd_data: x,dy->dx
  if (kind == "rmsnorm") return RowWork(k, 2, 3, 5);
  if (kind == "softmax") return RowWork(k, 2, 3, 5);      // bwd: y,dy->dx
  if (kind == "gelu") return ElemWork(k, 2, 3, 12);
  if (kind == "dropout") return ElemWork(k, 2.5, 2.5, 3); // + 1-byte mask
  if (kind == "add") return ElemWork(k, 3, 3, 1);
  if (kind == "swiglu") {                                 // in [rows, 2*cols] -> out [rows, cols]
    double n = double(S(k, "rows")) * double(S(k, "cols"));
    return {8 * n, (k.phase == P::kFwd ? 3 : 5) * n * e, 1};
  }
  if (kind == "rope") {
    double n = double(S(k, "tokens")) * double(S(k, "heads")) * double(S(k, "head_dim"));
    return {3 * n, 2 * n * e, 1};
  }
  if (kind == "embedding") {
    double n = double(S(k, "tokens")) * double(S(k, "hidden"));
    return {k.phase == P::kFwd ? 0 : n, 2 * n * e, 1};
  }
  if (kind == "cross_entropy") {
    double n = double(S(k, "tokens")) * double(S(k, "vocab"));
    return {5 * n, (k.phase == P::kFwd ? 1 : 2) * n * e, 1};
  }
  if (kind == "adam") {  // fp32 master param, grad, m, v read; param, m, v written (+ the dtype copy)
    double n = double(S(k, "params"));
    return {12 * n, 7 * n * 4 + (k.dtype == DType::kFp32 ? 0 : n * e), 1};
  }
  if (kind == "conv2d") return ConvWork(k);
  if (kind == "batchnorm") {
    double n = double(S(k, "n")) * S(k, "c") * S(k, "h") * S(k, "w");
    return {8 * n, (k.phase == P::kFwd ? 3 : 4) * n * e, 1};
  }
  if (kind == "pool") {
    double n = double(S(k, "n")) * S(k, "c"), st = std::max<int64_t>(1, S(k, "stride"));
    double in = n * S(k, "h") * S(k, "w"), out = n * (S(k, "h") / st) * (S(k, "w") / st);
    return {in, (in + out) * e * (k.phase == P::kFwd ? 1 : 1.5), 1};
  }
  if (kind == "copy") return {0, double(S(k, "bytes")), 1};
  return {};
}

int64_t FootprintOf(const OpKey& k) {
  OpWork w = WorkOf(k);
  if (k.kind == "attention") {  // scores for the whole batch only when they fit: see attention.cu
    return static_cast<int64_t>(w.bytes / 2);
  }
  if (k.kind == "adam") return static_cast<int64_t>(double(S(k, "params")) * 16);
  return static_cast<int64_t>(w.bytes);
}

}  // namespace proteus::profiler
