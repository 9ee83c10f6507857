#include "profiler/sweep.h"

#include <algorithm>
#include <set>

#include "profiler/canonical.h"
#include "profiler/op_semantics.h"
#include "profiler/zoo_shapes.h"

namespace proteus::profiler {
namespace {

constexpr double kLaunchFloorS = 4e-6;  // smallest kernel time seen on A100/H100 incl. launch gap
constexpr double kComputeEff = 0.7;     // fraction of peak a good library kernel reaches
constexpr double kMemEff = 0.8;         // fraction of HBM bandwidth a streaming kernel reaches

using Shape = std::map<std::string, int64_t>;

// Collects keys, dropping duplicates and those too slow to measure in the budget.
class KeySet {
 public:
  KeySet(const DevicePreset& dev, double max_call_s) : dev_(dev), max_call_s_(max_call_s) {}
  void Add(const std::string& kind, DType t, Phase p, Shape shape, std::map<std::string, std::string> attrs = {}) {
    OpKey k = MakeKey(kind, t, p, std::move(shape), std::move(attrs));
    if (EstimateCallSeconds(k, dev_) > max_call_s_) return;
    if (seen_.insert(k.ToString()).second) keys_.push_back(std::move(k));
  }
  void AddAllPhases(const std::string& kind, DType t, const Shape& shape, std::map<std::string, std::string> attrs = {}) {
    for (Phase p : PhasesOf(kind)) Add(kind, t, p, shape, attrs);
  }
  std::vector<OpKey> Take() { return std::move(keys_); }

 private:
  const DevicePreset& dev_;
  double max_call_s_;
  std::set<std::string> seen_;
  std::vector<OpKey> keys_;
};

std::vector<int64_t> Pow2(int64_t lo, int64_t hi) {
  std::vector<int64_t> v;
  for (int64_t x = lo; x <= hi; x *= 2) v.push_back(x);
  return v;
}

std::vector<int64_t> TokenGrid(const SweepOptions& o) {
  std::set<int64_t> t;
  for (auto b : o.micro_batch)
    for (auto s : o.seq) t.insert(b * s);
  return {t.begin(), t.end()};
}

bool TpFits(const TransformerShape& m, int64_t tp) {
  bool kv_ok = m.kv_heads % tp == 0 || tp % m.kv_heads == 0;  // fewer kv heads than tp: replicated
  return m.heads % tp == 0 && kv_ok && m.ffn % tp == 0 && m.hidden % tp == 0;
}

int64_t KvPerRank(const TransformerShape& m, int64_t tp) { return std::max<int64_t>(1, m.kv_heads / tp); }

void AddTransformerGemms(KeySet& ks, const TransformerShape& m, int64_t tp, const std::vector<int64_t>& tokens) {
  int64_t hd = m.head_dim(), heads_r = m.heads / tp, kv_r = KvPerRank(m, tp);
  std::vector<std::pair<int64_t, int64_t>> nk = {
      {(heads_r + 2 * kv_r) * hd, m.hidden},              // qkv
      {m.hidden, m.hidden / tp},                          // attention output projection
      {m.ffn / tp * (m.swiglu ? 2 : 1), m.hidden},        // fc1 (gate and up fused when gated)
      {m.hidden, m.ffn / tp},                             // fc2
      {PaddedVocabPerRank(m.vocab, tp), m.hidden},        // logits
  };
  for (auto [n, k] : nk)
    for (int64_t t : tokens) ks.AddAllPhases("gemm", DType::kBf16, {{"m", t}, {"n", n}, {"k", k}});
}

void AddTransformer(KeySet& ks, const TransformerShape& m, int64_t tp, const SweepOptions& o) {
  const DType bf = DType::kBf16;
  auto tokens = TokenGrid(o);
  AddTransformerGemms(ks, m, tp, tokens);
  int64_t hd = m.head_dim(), heads_r = m.heads / tp, kv_r = KvPerRank(m, tp);
  std::string causal = m.causal ? "1" : "0";
  for (int64_t b : o.micro_batch)
    for (int64_t s : o.seq)
      ks.AddAllPhases("attention", bf, {{"batch", b}, {"heads", heads_r}, {"kv_heads", kv_r},
                                        {"seq_q", s}, {"seq_kv", s}, {"head_dim", hd}}, {{"causal", causal}});
  std::vector<int64_t> rows = tokens;  // + the sequence-parallel shards T/tp
  for (int64_t t : tokens) rows.push_back(t / tp);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  for (int64_t r : rows) ks.AddAllPhases(m.swiglu ? "rmsnorm" : "layernorm", bf, {{"rows", r}, {"cols", m.hidden}});
  for (int64_t t : tokens) {
    if (m.swiglu) ks.AddAllPhases("swiglu", bf, {{"rows", t}, {"cols", m.ffn / tp}});
    if (m.swiglu) {
      ks.AddAllPhases("rope", bf, {{"tokens", t}, {"heads", heads_r}, {"head_dim", hd}});
      ks.AddAllPhases("rope", bf, {{"tokens", t}, {"heads", kv_r}, {"head_dim", hd}});
    }
    int64_t v = PaddedVocabPerRank(m.vocab, tp);
    ks.AddAllPhases("embedding", bf, {{"tokens", t}, {"vocab", v}, {"hidden", m.hidden}});
    ks.AddAllPhases("cross_entropy", bf, {{"tokens", t}, {"vocab", v}});
  }
}

void AddElementwise(KeySet& ks) {
  for (int64_t n : Pow2(int64_t{1} << 16, int64_t{1} << 30)) {
    for (const char* kind : {"gelu", "dropout", "add"}) ks.AddAllPhases(kind, DType::kBf16, {{"elements", n}});
    ks.AddAllPhases("adam", DType::kFp32, {{"params", n}});
    ks.AddAllPhases("adam", DType::kBf16, {{"params", n}});
  }
  for (int64_t r : Pow2(512, 65536))
    for (int64_t c : Pow2(512, 8192)) ks.AddAllPhases("softmax", DType::kBf16, {{"rows", r}, {"cols", c}});
}

void AddSecondaryDtypes(KeySet& ks, const DevicePreset& dev) {
  std::vector<DType> types = {DType::kFp16, DType::kTf32, DType::kFp32};
  if (dev.HasFp8()) types.push_back(DType::kFp8E4M3);
  auto grid = Pow2(512, 16384);
  for (DType t : types)
    for (int64_t m : grid)
      for (int64_t n : grid)
        for (int64_t k : grid) ks.AddAllPhases("gemm", t, {{"m", m}, {"n", n}, {"k", k}});
  for (int64_t b : {4, 16, 64})
    for (int64_t m : {256, 1024, 4096})
      for (int64_t n : {256, 1024, 4096})
        for (int64_t k : {64, 128, 1024}) ks.AddAllPhases("bgemm", DType::kBf16, {{"batch", b}, {"m", m}, {"n", n}, {"k", k}});
  // fp16 attention at a Llama-like and a GPT-like head layout, to scale the bf16 family.
  for (int64_t s : Pow2(512, 8192)) {
    ks.AddAllPhases("attention", DType::kFp16, {{"batch", 1}, {"heads", 32}, {"kv_heads", 8}, {"seq_q", s},
                                                {"seq_kv", s}, {"head_dim", 128}}, {{"causal", "1"}});
    ks.AddAllPhases("attention", DType::kFp16, {{"batch", 1}, {"heads", 16}, {"kv_heads", 16}, {"seq_q", s},
                                                {"seq_kv", s}, {"head_dim", 128}}, {{"causal", "1"}});
  }
}

void AddCnn(KeySet& ks, const SweepOptions& o) {
  for (DType t : {DType::kFp16, DType::kTf32}) {
    DType elem = t == DType::kTf32 ? DType::kFp32 : t;  // batchnorm/pool have no tf32
    for (int64_t n : o.cnn_batch) {
      for (const auto& c : ResNet50Convs()) {
        ks.AddAllPhases("conv2d", t, {{"n", n}, {"c", c.c}, {"h", c.h}, {"w", c.w}, {"k", c.k}, {"r", c.r},
                                      {"s", c.s}, {"stride", c.stride}, {"pad", c.pad}});
        int64_t p = (c.h + 2 * c.pad - c.r) / c.stride + 1, q = (c.w + 2 * c.pad - c.s) / c.stride + 1;
        ks.AddAllPhases("batchnorm", elem, {{"n", n}, {"c", c.k}, {"h", p}, {"w", q}});
      }
      ks.AddAllPhases("pool", elem, {{"n", n}, {"c", 64}, {"h", 112}, {"w", 112}, {"window", 3}, {"stride", 2}},
                      {{"mode", "max"}});
      ks.AddAllPhases("pool", elem, {{"n", n}, {"c", 2048}, {"h", 7}, {"w", 7}, {"window", 7}, {"stride", 1}},
                      {{"mode", "avg"}});
    }
  }
}

void AddCopies(KeySet& ks, const SweepOptions& o) {
  for (const char* dir : {"h2d", "d2h", "d2d", "peer"}) {
    if (std::string(dir) == "peer" && o.gpus < 2) continue;
    for (int64_t b = 1024; b <= (int64_t{1} << 30); b *= 4)
      ks.Add("copy", DType::kBf16, Phase::kFwd, {{"bytes", b}}, {{"dir", dir}});
  }
}

}  // namespace

double EstimateCallSeconds(const OpKey& key, const DevicePreset& dev) {
  OpWork w = WorkOf(key);
  double bw = dev.hbm_bw * kMemEff;
  if (key.kind == "copy") {
    const std::string& dir = key.attrs.at("dir");
    bw = dir == "d2d" ? dev.hbm_bw * kMemEff / 2 : dir == "peer" ? std::max(dev.nvlink_bw, dev.pcie_bw) * kMemEff
                                                                : dev.pcie_bw * kMemEff;
  }
  double compute = w.flops / (dev.PeakFlops(key.dtype) * kComputeEff);
  return std::max({kLaunchFloorS * w.kernels, compute, w.bytes / bw});
}

std::vector<OpKey> DefaultSweep(const DevicePreset& dev, const SweepOptions& o) {
  KeySet ks(dev, o.max_call_s);
  for (const auto& m : TransformerZoo())
    for (int64_t tp : o.tp)
      if (TpFits(m, tp)) AddTransformer(ks, m, tp, o);
  AddElementwise(ks);
  if (o.secondary_dtypes) AddSecondaryDtypes(ks, dev);
  AddCnn(ks, o);
  AddCopies(ks, o);
  std::vector<OpKey> keys = ks.Take();
  // Group by kind, then ascending work, so a run warms each library up once and an interrupted
  // sweep has the small (cheap, common) shapes first.
  std::stable_sort(keys.begin(), keys.end(), [&](const OpKey& a, const OpKey& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.dtype != b.dtype) return a.dtype < b.dtype;
    double wa = EstimateCallSeconds(a, dev), wb = EstimateCallSeconds(b, dev);
    if (wa != wb) return wa < wb;
    return a.ToString() < b.ToString();
  });
  return keys;
}

}  // namespace proteus::profiler
