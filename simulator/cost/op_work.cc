#include "simulator/cost/op_work.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace proteus {
namespace {

double P(const OpKey& key, const char* name) { return static_cast<double>(key.shape.at(name)); }
int64_t I(const OpKey& key, const char* name) { return key.shape.at(name); }
bool Bwd(const OpKey& key) { return key.phase == Phase::kBwdData || key.phase == Phase::kBwdWeight; }
bool AttrTrue(const OpKey& key, const char* name) {
  auto it = key.attrs.find(name);
  return it != key.attrs.end() && (it->second == "1" || it->second == "true");
}

KernelWork Matmul(const OpKey& key, int64_t batch, int64_t m, int64_t n, int64_t k, double e) {
  KernelWork w;
  w.unit = MathUnit::kTensor;
  double b = static_cast<double>(batch), dm = static_cast<double>(m), dn = static_cast<double>(n),
         dk = static_cast<double>(k);
  w.flops = 2 * b * dm * dn * dk;
  // The output each phase writes decides its tile grid; the remaining dim is reduced over.
  double out = dm * dn;
  switch (key.phase) {
    case Phase::kBwdData: w.matmul = {batch, m, k, n}; out = dm * dk; break;
    case Phase::kBwdWeight: w.matmul = {batch, k, n, m}; out = dk * dn; break;
    default: w.matmul = {batch, m, n, k}; break;
  }
  // fp8 products read fp8 operands and write bf16 (cuBLASLt as Transformer Engine calls it, and as
  // the profiler measures fp8 keys).
  bool fp8 = key.dtype == DType::kFp8E4M3 || key.dtype == DType::kFp8E5M2;
  double out_e = fp8 ? 2.0 : e;
  w.bytes = b * (e * (dm * dk + dk * dn + dm * dn - out) + out_e * out);
  return w;
}

}  // namespace

double CausalFraction(const AttentionGeometry& g) {
  if (!g.causal) return 1;
  // Queries sit at the end of the keys: query i sees seq_kv - seq_q + i + 1 keys, on average
  // seq_kv - seq_q / 2 (exactly half the square when seq_q == seq_kv, the usual count).
  if (g.seq_q >= g.seq_kv || g.seq_kv == 0) return 0.5;
  return 1 - static_cast<double>(g.seq_q) / (2 * static_cast<double>(g.seq_kv));
}

namespace {

KernelWork Attention(const OpKey& key, double e) {
  KernelWork w;
  w.unit = MathUnit::kAttention;
  AttentionGeometry& g = w.attention;
  g.batch_heads = I(key, "batch") * I(key, "heads");
  g.seq_q = I(key, "seq_q");
  g.seq_kv = I(key, "seq_kv");
  g.head_dim = I(key, "head_dim");
  g.causal = AttrTrue(key, "causal");
  double bh = static_cast<double>(g.batch_heads), d = static_cast<double>(g.head_dim);
  double q_elems = bh * static_cast<double>(g.seq_q) * d;  // Q, O, dQ, dO
  double kv_elems = P(key, "batch") * P(key, "kv_heads") * P(key, "seq_kv") * d;  // K, V each
  double fwd = 4 * bh * static_cast<double>(g.seq_q) * static_cast<double>(g.seq_kv) * d * CausalFraction(g);
  double lse = 4 * bh * static_cast<double>(g.seq_q);  // fp32 log-sum-exp per query row
  if (Bwd(key)) {
    w.flops = 2.5 * fwd;
    w.bytes = e * (4 * q_elems + 4 * kv_elems) + 2 * lse;  // read Q K V O dO, write dQ dK dV
  } else {
    w.flops = fwd;
    w.bytes = e * (2 * q_elems + 2 * kv_elems) + lse;      // read Q K V, write O
  }
  return w;
}

// A streaming kernel: `passes_fwd` / `passes_bwd` tensor-sized reads+writes and `flops_per` math.
KernelWork Stream(const OpKey& key, double elems, double e, double passes_fwd, double passes_bwd,
                  double flops_per) {
  KernelWork w;
  w.unit = MathUnit::kVector;
  bool bwd = Bwd(key);
  w.bytes = elems * e * (bwd ? passes_bwd : passes_fwd);
  w.flops = elems * flops_per * (bwd ? 2 : 1);
  return w;
}

KernelWork Conv2d(const OpKey& key, double e) {
  int64_t n = I(key, "n"), c = I(key, "c"), h = I(key, "h"), wd = I(key, "w"), k = I(key, "k"),
          r = I(key, "r"), s = I(key, "s"), stride = std::max<int64_t>(1, I(key, "stride")), pad = I(key, "pad");
  int64_t p = std::max<int64_t>(1, (h + 2 * pad - r) / stride + 1);
  int64_t q = std::max<int64_t>(1, (wd + 2 * pad - s) / stride + 1);
  // Implicit GEMM: M = n*p*q output pixels, N = k filters, K = c*r*s; backward phases as in gemm.
  KernelWork w = Matmul(key, 1, n * p * q, k, c * r * s, e);
  double dn = static_cast<double>(n);
  w.bytes = e * (dn * c * h * wd + static_cast<double>(k) * c * r * s + dn * k * p * q);
  return w;
}

KernelWork Pool(const OpKey& key, double e) {
  double n = P(key, "n"), c = P(key, "c"), h = P(key, "h"), wd = P(key, "w");
  double win = std::max(1.0, P(key, "window")), stride = std::max(1.0, P(key, "stride"));
  double out = n * c * std::max(1.0, (h - win) / stride + 1) * std::max(1.0, (wd - win) / stride + 1);
  KernelWork w;
  w.unit = MathUnit::kVector;
  w.bytes = e * (n * c * h * wd + out);   // read input, write output (bwd: read dy, write dx)
  w.flops = out * win * win;
  return w;
}

KernelWork Copy(const OpKey& key) {
  KernelWork w;
  double bytes = P(key, "bytes");
  auto it = key.attrs.find("dir");
  std::string dir = it == key.attrs.end() ? "d2d" : it->second;
  if (dir == "h2d" || dir == "d2h") {
    w.unit = MathUnit::kHostLink;
    w.bytes = bytes;
  } else if (dir == "peer") {
    w.unit = MathUnit::kPeerLink;
    w.bytes = bytes;
  } else {
    w.bytes = 2 * bytes;  // device copy reads and writes HBM
  }
  return w;
}

}  // namespace

KernelWork WorkOf(const OpKey& key) {
  auto invalid = ValidateOpKey(key);
  PROTEUS_CHECK(!invalid, key.ToString() + ": " + invalid.value_or(""));
  const std::string& k = key.kind;
  double e = static_cast<double>(DTypeBytes(key.dtype));
  if (k == "gemm") return Matmul(key, 1, I(key, "m"), I(key, "n"), I(key, "k"), e);
  if (k == "bgemm") return Matmul(key, I(key, "batch"), I(key, "m"), I(key, "n"), I(key, "k"), e);
  if (k == "attention") return Attention(key, e);
  if (k == "conv2d") return Conv2d(key, e);
  if (k == "pool") return Pool(key, e);
  if (k == "copy") return Copy(key);
  if (k == "layernorm" || k == "rmsnorm") {
    // fwd: read x, write y; bwd_data: read x, dy, write dx; bwd_weight: read x, dy (reduce to dgamma).
    double passes_bwd = key.phase == Phase::kBwdWeight ? 2 : 3;
    return Stream(key, P(key, "rows") * P(key, "cols"), e, 2, passes_bwd, 8);
  }
  if (k == "softmax") return Stream(key, P(key, "rows") * P(key, "cols"), e, 2, 3, 5);
  if (k == "gelu") return Stream(key, P(key, "elements"), e, 2, 3, 20);
  if (k == "swiglu") return Stream(key, P(key, "rows") * P(key, "cols"), e, 3, 5, 8);
  if (k == "add") return Stream(key, P(key, "elements"), e, 3, 3, 1);
  if (k == "dropout") {
    KernelWork w = Stream(key, P(key, "elements"), e, 2, 2, 2);
    w.bytes += P(key, "elements");  // one byte of mask per element, written fwd, read bwd
    return w;
  }
  if (k == "rope") {
    double elems = P(key, "tokens") * P(key, "heads") * P(key, "head_dim");
    KernelWork w = Stream(key, elems, e, 2, 2, 3);
    w.bytes += 2 * 4 * P(key, "tokens") * P(key, "head_dim");  // fp32 cos and sin tables
    return w;
  }
  if (k == "embedding") {
    double rows = P(key, "tokens") * P(key, "hidden");
    KernelWork w;
    // fwd gathers rows; bwd scatter-adds into a dense vocab x hidden gradient it first zeroes.
    w.bytes = Bwd(key) ? e * rows + 2 * e * P(key, "vocab") * P(key, "hidden") : 2 * e * rows;
    w.bytes += 8 * P(key, "tokens");  // int64 token ids
    w.flops = Bwd(key) ? rows : 0;
    return w;
  }
  if (k == "cross_entropy") return Stream(key, P(key, "tokens") * P(key, "vocab"), e, 2, 2, 5);
  if (k == "batchnorm") {
    // fwd: a statistics pass (read) and a normalize pass (read, write); bwd: two passes over x, dy.
    return Stream(key, P(key, "n") * P(key, "c") * P(key, "h") * P(key, "w"), e, 3, 5, 6);
  }
  if (k == "adam") {
    KernelWork w;
    double params = P(key, "params");
    w.bytes = params * (16 + 12 + (key.dtype == DType::kFp32 ? 0 : e));
    w.flops = params * 16;
    return w;
  }
  throw InternalError("no work model for op kind " + k);
}

}  // namespace proteus
