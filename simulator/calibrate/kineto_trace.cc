#include "simulator/calibrate/kineto_trace.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>

#include "common/error.h"
#include "common/input_file.h"
#include "simulator/calibrate/kernel_classify.h"
#include "simulator/calibrate/trace_summary.h"

namespace proteus {
namespace {

constexpr double kUs = 1e-6;  // the trace's unit
// Kineto writes microseconds with three decimals: a child may end a rounding step after its parent.
constexpr double kEps = 1e-9;
// Bound on a tensor's elements, so every product of shape parameters stays inside int64.
constexpr int64_t kMaxElements = int64_t{1} << 62;
constexpr double kMaxTimeUs = 1e17;

// ---- events as read ----

struct CpuOp {
  AtenCall call;
  double start = 0, end = 0;
  std::string thread;          // pid/tid
  int64_t external_id = -1, sequence = -1;
  int parent = -1;             // innermost enclosing op on the thread
  std::optional<OpKey> key;    // its forward key, if it maps
};

struct Runtime {
  double start = 0, end = 0;
  std::string thread;
  int64_t correlation = -1, external_id = -1;
  int op = -1;
};

struct Activity {
  std::string name;
  double start = 0, end = 0, launch = 0;
  double duration = 0;         // its own "dur": end - start loses digits at large timestamps
  int64_t device = 0;
  KernelCategory category = KernelCategory::kCompute;
  int64_t correlation = -1, external_id = -1;
  int op = -1;                 // innermost op that launched it
  size_t index = 0;            // event index, for a stable order
};

struct Step {
  int64_t number = 0;
  double start = 0, end = 0;
};

struct Events {
  std::vector<CpuOp> ops;
  std::vector<Runtime> runtimes;
  std::vector<Activity> activities;
  std::vector<Step> steps;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

enum class EventKind { kOp, kRuntime, kActivity, kOther };

EventKind KindOf(const std::string& category) {
  std::string c = Lower(category);
  if (c == "cpu_op" || c == "operator" || c == "user_annotation") return EventKind::kOp;
  if (c == "cuda_runtime" || c == "runtime" || c == "cuda_driver") return EventKind::kRuntime;
  if (c == "kernel" || c == "gpu_memcpy" || c == "gpu_memset" || c == "memcpy" || c == "memset")
    return EventKind::kActivity;
  return EventKind::kOther;
}

// pid and tid may be integers or strings; only equality matters for threads.
std::string IdText(const JsonView& ev, const char* field) { return ev.Has(field) ? ev.raw()[field].dump() : ""; }

std::string ThreadOf(const JsonView& ev) { return IdText(ev, "pid") + "/" + IdText(ev, "tid"); }

// [ts, ts + dur] in microseconds as written (Rebase turns them into seconds); dur must be a
// non-negative number.
std::pair<double, double> Span(const JsonView& ev) {
  double ts = ev.Num("ts");
  double dur = ev.Num("dur");
  // 1e17 us is three thousand years: beyond it, differences of times stop being finite.
  if (std::fabs(ts) > kMaxTimeUs) ev.FailField("ts", "a time stamp beyond 1e17 us");
  if (dur < 0) ev.FailField("dur", "a duration must be >= 0, got " + std::to_string(dur));
  if (dur > kMaxTimeUs) ev.FailField("dur", "a duration beyond 1e17 us");
  return {ts, ts + dur};
}

std::optional<JsonView> Args(const JsonView& ev) {
  auto args = ev.Find("args");
  if (args && !args->IsObject()) args->Fail("expected an object");
  return args;
}

int64_t ArgInt(const std::optional<JsonView>& args, const char* field) {
  return args ? args->IntOr(field, -1) : -1;
}

std::vector<int64_t> ShapeOf(const JsonView& v) {
  if (!v.IsArray()) v.Fail("expected a list of integers (one tensor's sizes)");
  std::vector<int64_t> dims;
  int64_t elements = 1;
  for (size_t i = 0; i < v.Size(); ++i) {
    JsonView d = v.At(i);
    if (!d.raw().is_number_integer()) d.Fail("expected an integer size");
    int64_t n = d.AsInt();
    if (n < 0) d.Fail("a size must be >= 0, got " + std::to_string(n));
    if (n > 0 && elements > kMaxElements / n) d.Fail("the tensor has more than 2^62 elements");
    elements *= n;
    dims.push_back(n);
  }
  return dims;
}

// "Input Dims": per input a list of sizes ([] for non-tensors), or for a TensorList a list of them.
void ReadInputDims(const JsonView& dims, std::vector<AtenInput>& inputs) {
  if (!dims.IsArray()) dims.Fail("expected a list of lists of integers");
  inputs.resize(std::max(inputs.size(), dims.Size()));
  for (size_t i = 0; i < dims.Size(); ++i) {
    JsonView in = dims.At(i);
    if (!in.IsArray()) in.Fail("expected a list of integers (one tensor's sizes)");
    bool is_list = in.Size() > 0 && in.raw()[0].is_array();
    if (!is_list) {
      inputs[i].dims = ShapeOf(in);
      continue;
    }
    for (size_t j = 0; j < in.Size(); ++j) inputs[i].list.push_back(ShapeOf(in.At(j)));
  }
}

void ReadStrings(const std::optional<JsonView>& args, const char* field, std::vector<AtenInput>& inputs,
                 std::string AtenInput::*member) {
  auto list = args ? args->Find(field) : std::nullopt;
  if (!list) return;
  if (!list->IsArray()) list->Fail("expected a list of strings");
  inputs.resize(std::max(inputs.size(), list->Size()));
  for (size_t i = 0; i < list->Size(); ++i) inputs[i].*member = list->At(i).AsStr();
}

void ReadOp(const JsonView& ev, Events& out) {
  CpuOp op;
  op.call.name = ev.Str("name");
  std::tie(op.start, op.end) = Span(ev);
  op.thread = ThreadOf(ev);
  auto args = Args(ev);
  op.external_id = ArgInt(args, "External id");
  op.sequence = ArgInt(args, "Sequence number");
  if (args && args->Has("Input Dims")) ReadInputDims(args->At("Input Dims"), op.call.inputs);
  ReadStrings(args, "Input type", op.call.inputs, &AtenInput::type);
  ReadStrings(args, "Concrete Inputs", op.call.inputs, &AtenInput::concrete);
  const std::string& name = op.call.name;
  if (name.rfind("ProfilerStep#", 0) == 0) {
    std::string number = name.substr(13);
    if (!number.empty() && number.size() < 12 && number.find_first_not_of("0123456789") == std::string::npos)
      out.steps.push_back({std::stoll(number), op.start, op.end});
  }
  out.ops.push_back(std::move(op));
}

void ReadRuntime(const JsonView& ev, Events& out) {
  Runtime r;
  std::tie(r.start, r.end) = Span(ev);
  r.thread = ThreadOf(ev);
  auto args = Args(ev);
  r.correlation = ArgInt(args, "correlation");
  r.external_id = ArgInt(args, "External id");
  if (r.correlation >= 0) out.runtimes.push_back(r);
}

void ReadActivity(const JsonView& ev, size_t index, Events& out) {
  Activity a;
  a.name = ev.Str("name");
  std::tie(a.start, a.end) = Span(ev);
  a.duration = ev.Num("dur") * kUs;
  a.index = index;
  auto args = Args(ev);
  a.correlation = ArgInt(args, "correlation");
  a.external_id = ArgInt(args, "External id");
  int64_t device = ArgInt(args, "device");
  if (device < 0 && ev.Has("pid") && ev.raw()["pid"].is_number_integer()) device = ev.Int("pid");
  a.device = std::max<int64_t>(device, 0);
  a.category = ClassifyKernel(ev.Str("cat"), a.name);
  out.activities.push_back(std::move(a));
}

Events ReadEvents(const JsonView& events) {
  Events out;
  for (size_t i = 0; i < events.Size(); ++i) {
    JsonView ev = events.At(i);
    if (!ev.IsObject() || !ev.raw().contains("ph") || ev.raw()["ph"] != "X") continue;
    if (!ev.raw().contains("cat") || !ev.raw()["cat"].is_string()) continue;
    switch (KindOf(ev.Str("cat"))) {
      case EventKind::kOp: ReadOp(ev, out); break;
      case EventKind::kRuntime: ReadRuntime(ev, out); break;
      case EventKind::kActivity: ReadActivity(ev, i, out); break;
      case EventKind::kOther: break;  // python frames, flows, annotations on the GPU: not needed
    }
  }
  return out;
}

// Microseconds since the epoch (as Kineto writes them) into seconds since the first event: doubles
// near 1e9 s would keep only ~0.1 us.
void Rebase(Events& e) {
  double base = std::numeric_limits<double>::max();
  for (const auto& op : e.ops) base = std::min(base, op.start);
  for (const auto& r : e.runtimes) base = std::min(base, r.start);
  for (const auto& a : e.activities) base = std::min(base, a.start);
  auto to_s = [&](double& t) { t = (t - base) * kUs; };
  for (auto& op : e.ops) to_s(op.start), to_s(op.end);
  for (auto& r : e.runtimes) to_s(r.start), to_s(r.end);
  for (auto& a : e.activities) to_s(a.start), to_s(a.end), a.launch = a.start;
  for (auto& s : e.steps) to_s(s.start), to_s(s.end);
}

// ---- who launched what ----

// Innermost enclosing op for every op and runtime call, per thread, by a sweep over start times.
void Nest(Events& e) {
  std::map<std::string, std::pair<std::vector<int>, std::vector<int>>> threads;
  for (size_t i = 0; i < e.ops.size(); ++i) threads[e.ops[i].thread].first.push_back(static_cast<int>(i));
  for (size_t i = 0; i < e.runtimes.size(); ++i) threads[e.runtimes[i].thread].second.push_back(static_cast<int>(i));
  for (auto& [thread, lists] : threads) {
    auto& [ops, calls] = lists;
    std::sort(ops.begin(), ops.end(), [&](int a, int b) {
      const CpuOp &x = e.ops[a], &y = e.ops[b];
      return x.start != y.start ? x.start < y.start : x.end != y.end ? x.end > y.end : a < b;
    });
    std::sort(calls.begin(), calls.end(), [&](int a, int b) {
      return e.runtimes[a].start != e.runtimes[b].start ? e.runtimes[a].start < e.runtimes[b].start : a < b;
    });
    std::vector<int> open;
    auto enclosing = [&](double end) {
      while (!open.empty() && e.ops[open.back()].end + kEps < end) open.pop_back();
      return open.empty() ? -1 : open.back();
    };
    size_t r = 0;
    for (int op : ops) {
      // An op opens before a runtime call that starts at the same time: it made that call.
      for (; r < calls.size() && e.runtimes[calls[r]].start < e.ops[op].start; ++r)
        e.runtimes[calls[r]].op = enclosing(e.runtimes[calls[r]].end);
      e.ops[op].parent = enclosing(e.ops[op].end);
      open.push_back(op);
    }
    for (; r < calls.size(); ++r) e.runtimes[calls[r]].op = enclosing(e.runtimes[calls[r]].end);
  }
}

// Activity -> runtime call (correlation) -> its op; else the op of the same External id (the
// runtime call's, then the activity's own).
void Attribute(Events& e) {
  std::unordered_map<int64_t, int> by_correlation, by_external;
  for (size_t i = 0; i < e.runtimes.size(); ++i) by_correlation.emplace(e.runtimes[i].correlation, static_cast<int>(i));
  for (size_t i = 0; i < e.ops.size(); ++i)
    if (e.ops[i].external_id >= 0) by_external.emplace(e.ops[i].external_id, static_cast<int>(i));
  auto op_of = [&](int64_t external_id) {
    auto it = by_external.find(external_id);
    return external_id >= 0 && it != by_external.end() ? it->second : -1;
  };
  for (auto& a : e.activities) {
    if (auto it = by_correlation.find(a.correlation); a.correlation >= 0 && it != by_correlation.end()) {
      const Runtime& r = e.runtimes[it->second];
      a.op = r.op >= 0 ? r.op : op_of(r.external_id);
      a.launch = r.start;
    } else if (int op = op_of(a.external_id); op >= 0) {
      a.op = op;
      a.launch = e.ops[op].start;
    }
  }
}

// ---- activity -> (op call, phase, key) ----

struct Owner {
  int op = -1;                 // the op call an occurrence is counted for
  OpKey key;
};

class Resolver {
 public:
  Resolver(Events& e, const AtenKeyOptions& options) : e_(e), options_(options) {
    for (auto& op : e_.ops) op.key = KeyForAtenCall(op.call, options_);
    for (size_t i = 0; i < e_.ops.size(); ++i) Index(static_cast<int>(i));
    for (auto& [node, products] : products_)
      std::sort(products.begin(), products.end(), [&](int a, int b) { return e_.ops[a].start < e_.ops[b].start; });
  }

  std::optional<Owner> Resolve(const Activity& a) const {
    if (a.op < 0) return std::nullopt;
    std::vector<int> chain = Chain(a.op);
    size_t node = 0;
    while (node < chain.size() && !IsBackwardNode(e_.ops[chain[node]].call.name)) ++node;
    if (node == chain.size()) return Forward(chain);
    return Backward(chain, node, a.name);
  }

 private:
  std::vector<int> Chain(int op) const {
    std::vector<int> chain;
    for (int at = op; at >= 0 && chain.size() <= e_.ops.size(); at = e_.ops[at].parent) chain.push_back(at);
    return chain;
  }

  // The nearest backward node above `op` (-1 if none); `product_between` tells whether a product
  // op lies between them.
  int NearestNode(int op, bool* product_between = nullptr) const {
    for (int at = e_.ops[op].parent; at >= 0; at = e_.ops[at].parent) {
      if (IsBackwardNode(e_.ops[at].call.name)) return at;
      if (product_between && IsProductOp(e_.ops[at].call.name)) *product_between = true;
    }
    return -1;
  }

  // Forward ops by sequence number (the innermost op recording it created the autograd node) and
  // the outermost products inside each backward node (matmul counts, not its mm).
  void Index(int i) {
    const CpuOp& op = e_.ops[i];
    bool nested_product = false;
    int node = IsBackwardNode(op.call.name) ? i : NearestNode(i, &nested_product);
    if (node < 0 && op.sequence >= 0) {
      auto [it, inserted] = by_sequence_.emplace(op.sequence, i);
      if (!inserted && op.start >= e_.ops[it->second].start) it->second = i;
    }
    if (node >= 0 && node != i && !nested_product && IsProductOp(op.call.name)) products_[node].push_back(i);
  }

  // The outermost op of the chain that maps: aten::linear over its addmm.
  std::optional<Owner> Forward(const std::vector<int>& chain) const {
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      if (e_.ops[*it].key) return Owner{*it, *e_.ops[*it].key};
    return std::nullopt;
  }

  std::optional<Owner> Backward(const std::vector<int>& chain, size_t node, const std::string& kernel) const {
    // The node's sequence number: on the outermost of the nested node ops
    // ("autograd::engine::evaluate_function: MmBackward0" > "MmBackward0").
    int64_t sequence = -1;
    for (size_t i = node; i < chain.size() && IsBackwardNode(e_.ops[chain[i]].call.name); ++i)
      if (e_.ops[chain[i]].sequence >= 0) sequence = e_.ops[chain[i]].sequence;
    if (auto owner = FromForward(chain, node, sequence, kernel)) return owner;
    // No forward op: an explicit backward op (gelu_backward, ...) keys itself.
    for (size_t i = node; i-- > 0;)
      if (auto key = KeyForBackwardAtenCall(e_.ops[chain[i]].call, options_, kernel)) return Owner{chain[i], *key};
    return std::nullopt;
  }

  std::optional<Owner> FromForward(const std::vector<int>& chain, size_t node, int64_t sequence,
                                   const std::string& kernel) const {
    auto fwd = by_sequence_.find(sequence);
    if (sequence < 0 || fwd == by_sequence_.end()) return std::nullopt;
    auto owner = Forward(Chain(fwd->second));
    if (!owner || owner->key.phase != Phase::kFwd) return std::nullopt;
    const AtenCall* inner = node > 0 ? &e_.ops[chain[0]].call : nullptr;
    const AtenCall* product = nullptr;
    int product_index = 0;
    for (size_t i = node; i-- > 0 && !product;) {  // the outermost product below the node
      if (!IsProductOp(e_.ops[chain[i]].call.name)) continue;
      product = &e_.ops[chain[i]].call;
      auto it = products_.find(chain[node]);
      if (it != products_.end())
        product_index = static_cast<int>(std::find(it->second.begin(), it->second.end(), chain[i]) - it->second.begin());
    }
    owner->key.phase = BackwardPhase(owner->key, product, product_index, inner, kernel);
    return owner;
  }

  Events& e_;
  const AtenKeyOptions& options_;
  std::unordered_map<int64_t, int> by_sequence_;
  std::unordered_map<int, std::vector<int>> products_;
};

// ---- iterations ----

struct Iteration {
  int64_t step = -1;
  double start = 0, time = 0;
  std::vector<size_t> activities;  // indices into Events::activities, in launch order
};

std::vector<Step> SelectSteps(std::vector<Step> steps, const KinetoOptions& options, const std::string& origin) {
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.start < b.start; });
  // A step recorded twice (as cpu_op and user_annotation) counts once.
  std::vector<Step> unique;
  for (const auto& s : steps)
    if (std::none_of(unique.begin(), unique.end(), [&](const Step& u) { return u.number == s.number; }))
      unique.push_back(s);
  steps = std::move(unique);
  if (options.iterations.empty()) {
    if (steps.size() >= 2) steps.erase(steps.begin());  // the first step warms up
    else steps.clear();
    return steps;
  }
  std::vector<Step> chosen;
  for (int64_t n : options.iterations) {
    auto it = std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.number == n; });
    if (it == steps.end()) {
      std::string have;
      for (const auto& s : steps) have += (have.empty() ? "" : ", ") + std::to_string(s.number);
      throw UserError(origin, "no ProfilerStep#" + std::to_string(n) + " in the trace (steps: " +
                                  (have.empty() ? "none" : have) + ")");
    }
    chosen.push_back(*it);
  }
  return chosen;
}

std::vector<Iteration> Iterations(const Events& e, const std::vector<size_t>& on_device, const std::vector<Step>& steps) {
  std::vector<Iteration> its;
  if (steps.empty()) {
    Iteration whole;
    whole.start = std::numeric_limits<double>::max();
    double end = std::numeric_limits<double>::lowest();
    for (size_t i : on_device) {
      whole.start = std::min(whole.start, e.activities[i].start);
      end = std::max(end, e.activities[i].end);
    }
    whole.time = end - whole.start;
    whole.activities = on_device;
    its.push_back(std::move(whole));
    return its;
  }
  for (const auto& s : steps) {
    Iteration it;
    it.step = s.number;
    it.start = s.start;
    it.time = s.end - s.start;
    for (size_t i : on_device)
      if (e.activities[i].launch >= s.start - kEps && e.activities[i].launch <= s.end + kEps) it.activities.push_back(i);
    its.push_back(std::move(it));
  }
  return its;
}

// ---- summary ----

IterationSummary Summarize(const Events& e, const Iteration& it) {
  std::vector<TimedActivity> activities;
  for (size_t i : it.activities) {
    const Activity& a = e.activities[i];
    activities.push_back({a.start, a.end, a.category});
  }
  return SummarizeIteration(it.step, it.start, it.time, activities);
}

// ---- entries ----

// Linear interpolation between order statistics (numpy's default, as profiler/stats.h).
double Percentile(const std::vector<double>& sorted, double q) {
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

struct Occurrence {
  OpKey key;
  double time_s = 0;
  std::vector<std::string> kernels;
};

class EntryBuilder {
 public:
  void Add(const Owner& owner, const Activity& a) {
    auto [it, inserted] = index_.emplace(std::make_pair(owner.op, static_cast<int>(owner.key.phase)), occurrences_.size());
    if (inserted) occurrences_.push_back({owner.key, 0, {}});
    Occurrence& o = occurrences_[it->second];
    o.time_s += a.duration;
    o.kernels.push_back(a.name);
  }

  void Into(CostDb& db, const std::string& source) const {
    std::map<std::string, std::vector<const Occurrence*>> by_key;
    for (const auto& o : occurrences_) by_key[o.key.ToString()].push_back(&o);
    for (const auto& [text, list] : by_key) {
      std::vector<double> times;
      for (const auto* o : list) times.push_back(o->time_s);
      std::sort(times.begin(), times.end());
      OpEntry entry;
      entry.key = list.front()->key;
      entry.time = {Percentile(times, 0.5), Percentile(times, 0.1), Percentile(times, 0.9),
                    static_cast<int>(times.size()), "trace", 0};
      entry.kernels = list.front()->kernels;
      entry.source = source;
      db.PutOp(std::move(entry));
    }
  }

 private:
  std::map<std::pair<int, int>, size_t> index_;
  std::vector<Occurrence> occurrences_;  // in order of their first kernel
};

void AddUnmapped(std::map<std::string, UnmappedKernel>& unmapped, const Events& e, const Activity& a) {
  UnmappedKernel& u = unmapped[a.name];
  if (u.count == 0) {
    u.name = a.name;
    u.op = a.op >= 0 ? e.ops[a.op].call.name : "";
  }
  ++u.count;
  u.total_s += a.duration;
}

std::vector<UnmappedKernel> SortedUnmapped(const std::map<std::string, UnmappedKernel>& unmapped) {
  std::vector<UnmappedKernel> out;
  for (const auto& [name, u] : unmapped) out.push_back(u);
  std::stable_sort(out.begin(), out.end(), [](const UnmappedKernel& a, const UnmappedKernel& b) { return a.total_s > b.total_s; });
  return out;
}

// ---- device ----

std::vector<int64_t> Devices(const Events& e) {
  std::vector<int64_t> d;
  for (const auto& a : e.activities) d.push_back(a.device);
  std::sort(d.begin(), d.end());
  d.erase(std::unique(d.begin(), d.end()), d.end());
  return d;
}

std::string JoinIds(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t d : ids) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return s;
}

// "deviceProperties": [{"id": 0, "name": "NVIDIA H100 80GB HBM3", "totalGlobalMem": ..., ...}];
// informational, so a field of another type is skipped rather than rejected.
DeviceInfo DeviceOf(const Json& doc, int64_t device) {
  DeviceInfo info;
  if (!doc.is_object() || !doc.contains("deviceProperties") || !doc["deviceProperties"].is_array()) return info;
  for (const auto& p : doc["deviceProperties"]) {
    if (!p.is_object() || !p.contains("id") || !p["id"].is_number_integer() || p["id"].get<int64_t>() != device) continue;
    auto integer = [&](const char* f) { return p.contains(f) && p[f].is_number_integer() ? p[f].get<int64_t>() : 0; };
    if (p.contains("name") && p["name"].is_string()) info.name = p["name"].get<std::string>();
    info.memory_bytes = std::max<int64_t>(0, integer("totalGlobalMem"));
    info.cc_major = static_cast<int>(std::clamp<int64_t>(integer("computeMajor"), 0, 99));
    info.cc_minor = static_cast<int>(std::clamp<int64_t>(integer("computeMinor"), 0, 99));
    info.sm_count = static_cast<int>(std::clamp<int64_t>(integer("numSms"), 0, 1 << 20));
    info.l2_bytes = std::max<int64_t>(0, integer("l2CacheSize"));
  }
  return info;
}

int64_t ChooseDevice(const Events& e, const KinetoOptions& options, const std::string& origin) {
  std::vector<int64_t> devices = Devices(e);
  if (!options.device) return devices.front();
  if (!std::binary_search(devices.begin(), devices.end(), *options.device))
    throw UserError(origin, "no GPU activities on device " + std::to_string(*options.device) +
                                " (devices in the trace: " + JoinIds(devices) + ")");
  return *options.device;
}

}  // namespace

KinetoTrace ReadKinetoTraceJson(const Json& doc, const std::string& origin, const KinetoOptions& options) {
  JsonView root(doc, origin);
  if (!root.IsObject() && !root.IsArray()) root.Fail("expected a Chrome trace: an object with traceEvents");
  JsonView events = root.IsArray() ? root : root.At("traceEvents");  // the array form is a Chrome trace too
  if (!events.IsArray()) events.Fail("expected an array of events");
  Events e = ReadEvents(events);
  bool any_kernel = std::any_of(e.activities.begin(), e.activities.end(),
                                [](const Activity& a) { return a.category != KernelCategory::kCopy; });
  if (!any_kernel) events.Fail("no GPU kernels (was the profiler run with activities=[ProfilerActivity.CUDA]?)");
  Rebase(e);
  Nest(e);
  Attribute(e);

  KinetoTrace out;
  out.summary.devices = Devices(e);
  out.summary.device = ChooseDevice(e, options, origin);
  std::vector<size_t> on_device;
  for (size_t i = 0; i < e.activities.size(); ++i)
    if (e.activities[i].device == out.summary.device) on_device.push_back(i);
  std::sort(on_device.begin(), on_device.end(), [&](size_t a, size_t b) {
    const Activity &x = e.activities[a], &y = e.activities[b];
    return x.launch != y.launch ? x.launch < y.launch : x.start != y.start ? x.start < y.start : x.index < y.index;
  });

  AtenKeyOptions key_options{options.default_dtype, options.default_causal};
  Resolver resolver(e, key_options);
  EntryBuilder entries;
  std::map<std::string, UnmappedKernel> unmapped;
  for (const auto& it : Iterations(e, on_device, SelectSteps(e.steps, options, origin))) {
    IterationSummary s = Summarize(e, it);
    for (size_t i : it.activities) {
      const Activity& a = e.activities[i];
      if (a.category != KernelCategory::kCompute) continue;
      if (auto owner = resolver.Resolve(a)) {
        entries.Add(*owner, a);
        ++s.kernels.mapped;
      } else {
        AddUnmapped(unmapped, e, a);
        ++s.kernels.unmapped;
      }
    }
    out.summary.iterations.push_back(s);
  }
  out.summary.mean = MeanSummary(out.summary.iterations);
  out.unmapped = SortedUnmapped(unmapped);
  out.db.device = DeviceOf(doc, out.summary.device);
  entries.Into(out.db, "trace:" + std::filesystem::path(origin).filename().string());
  return out;
}

KinetoTrace ReadKinetoTrace(const std::string& path, const KinetoOptions& options) {
  return ReadKinetoTraceJson(ParseJson(ReadInputFile(path, InputKind::kMeasurement), path), path, options);
}

}  // namespace proteus
