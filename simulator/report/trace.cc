#include "simulator/report/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>
#include <vector>

#include "common/dtype.h"
#include "common/json_file.h"
#include "common/units.h"
#include "simulator/cost/cost_source.h"

namespace proteus {

namespace {

std::string_view TaskKindName(TaskKind k) {
  switch (k) {
    case TaskKind::kCompute: return "compute";
    case TaskKind::kCollective: return "collective";
    case TaskKind::kP2P: return "p2p";
    case TaskKind::kMemcpy: return "memcpy";
  }
  return "?";
}

// An instant in integer nanoseconds. Every instant is rounded once and a duration is the difference
// of two rounded instants, so a task that starts when its predecessor on the stream ends starts at
// its end to the nanosecond. (Rounding ts and dur separately let 19,047 slices of one GPT-3 trace
// start 1 ns before their predecessor ended, which Perfetto nests wrongly.)
int64_t Ns(double seconds) { return std::llround(seconds * 1e9); }

// Appends trace-event JSON. Hand-written rather than built as a Json tree: a 1,024-GPU trace has
// half a million events, and this keeps it one pass over one string.
class TraceText {
 public:
  TraceText() { out_.reserve(1 << 20); }

  void BeginEvent() {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
    out_ += '{';
  }
  void EndEvent() { out_ += '}'; }
  void Key(std::string_view key) {
    if (out_.back() != '{') out_ += ',';
    Str(key);
    out_ += ':';
  }
  void Str(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (u < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out_ += buf;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  void Num(double v, const char* format = "%.3f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    out_ += buf;
  }
  void Int(int64_t v) { out_ += std::to_string(v); }
  void Raw(std::string_view s) { out_ += s; }
  void KeyStr(std::string_view k, std::string_view v) { Key(k), Str(v); }
  void KeyInt(std::string_view k, int64_t v) { Key(k), Int(v); }
  void KeyUs(std::string_view k, double seconds) { Key(k), Num(seconds * 1e6); }
  /// Nanoseconds written as exact microseconds with three decimals ("2000.001"): what a reader
  /// parses back, rounding to the nanosecond as Perfetto does, is the same integer.
  void KeyNsAsUs(std::string_view k, int64_t ns) {
    Key(k);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000), static_cast<long long>(ns % 1000));
    out_ += buf;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  bool first_ = true;
};

void Metadata(TraceText& t, const char* what, int pid, int tid, std::string_view name, int sort_index) {
  t.BeginEvent();
  t.KeyStr("name", what);
  t.KeyStr("ph", "M");
  t.KeyInt("pid", pid);
  t.KeyInt("tid", tid);
  t.Key("args");
  t.Raw("{");
  t.KeyStr("name", name);
  t.Raw("}");
  t.EndEvent();
  t.BeginEvent();
  t.KeyStr("name", std::string(what) == "process_name" ? "process_sort_index" : "thread_sort_index");
  t.KeyStr("ph", "M");
  t.KeyInt("pid", pid);
  t.KeyInt("tid", tid);
  t.Key("args");
  t.Raw("{");
  t.KeyInt("sort_index", sort_index);
  t.Raw("}");
  t.EndEvent();
}

void WriteNames(TraceText& t, const ExecGraph& g) {
  for (size_t gpu = 0; gpu < g.gpus.size(); ++gpu) {
    const SimGpu& sg = g.gpus[gpu];
    int pid = static_cast<int>(gpu);
    Metadata(t, "process_name", pid, 0, sg.label + " (x" + std::to_string(sg.multiplicity) + ")", pid);
    for (int s = 0; s < kNumStreams; ++s) {
      if (sg.streams[s].empty()) continue;
      Metadata(t, "thread_name", pid, s, StreamName(static_cast<StreamKind>(s)), s);
    }
  }
}

void WriteTask(TraceText& t, const ExecGraph& g, const SimResult& r, TaskId id) {
  const Task& task = g.tasks[id];
  t.BeginEvent();
  t.KeyStr("name", g.NameOf(task));
  t.KeyStr("cat", TaskKindName(task.kind));
  t.KeyStr("ph", "X");
  t.KeyInt("pid", task.gpu);
  t.KeyInt("tid", static_cast<int>(task.stream));
  int64_t start = Ns(r.task_start_s[id]);
  t.KeyNsAsUs("ts", start);
  t.KeyNsAsUs("dur", Ns(r.task_end_s[id]) - start);
  t.Key("args");
  t.Raw("{");
  t.KeyStr("phase", PhaseName(task.phase));
  if (task.microbatch >= 0) t.KeyInt("mb", task.microbatch);
  t.KeyStr("source", CostSourceName(task.source));
  if (task.recompute) t.Key("recompute"), t.Raw("true");
  if (task.comm >= 0) {
    const Comm& comm = g.comms[task.comm];
    t.KeyStr("op", CollOpName(comm.op));
    t.KeyInt("bytes", comm.bytes);
    if (!comm.plan->algo.empty()) t.KeyStr("algo", comm.plan->algo);
    if (!comm.plan->proto.empty()) t.KeyStr("proto", comm.plan->proto);
    t.KeyUs("time_alone_us", comm.plan->time_s);
  } else {
    t.KeyUs("time_alone_us", task.duration_s);
  }
  t.Raw("}");
  t.EndEvent();
}

// An arrow from the sender's member to the receiver's member of a two-GPU send/recv.
void WriteP2pArrows(TraceText& t, const ExecGraph& g, const SimResult& r) {
  for (size_t c = 0; c < g.comms.size(); ++c) {
    const Comm& comm = g.comms[c];
    if (comm.op != CollOp::kSendRecv || comm.members.size() != 2) continue;
    const Task& from = g.tasks[comm.members[0]];
    const Task& to = g.tasks[comm.members[1]];
    if (from.gpu == to.gpu || from.kind != TaskKind::kP2P) continue;  // a ring shift is no one-way send
    for (int end = 0; end < 2; ++end) {
      const Task& task = end == 0 ? from : to;
      t.BeginEvent();
      t.KeyStr("name", "p2p");
      t.KeyStr("cat", "p2p");
      t.KeyStr("ph", end == 0 ? "s" : "f");
      if (end == 1) t.KeyStr("bp", "e");
      t.KeyInt("id", static_cast<int64_t>(c));
      t.KeyInt("pid", task.gpu);
      t.KeyInt("tid", static_cast<int>(task.stream));
      t.KeyNsAsUs("ts", Ns(r.task_start_s[comm.members[end]]));
      t.EndEvent();
    }
  }
}

// Memory per category over time, replayed from the static memory and the effects' times. Changes at
// one instant are merged into one sample.
void WriteMemoryCounters(TraceText& t, const ExecGraph& g, const SimResult& r) {
  struct Change {
    int32_t gpu;
    double time;
    int32_t category;
    int64_t bytes;
  };
  std::vector<Change> changes;
  for (size_t id = 0; id < g.tasks.size(); ++id) {
    const Task& task = g.tasks[id];
    for (int32_t i = task.mem_begin; i < task.mem_begin + task.mem_count; ++i) {
      const MemEffect& e = g.mem_effects[i];
      double when = e.at_end ? r.task_end_s[id] : r.task_start_s[id];
      changes.push_back({task.gpu, when, static_cast<int32_t>(e.category), e.bytes});
    }
  }
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::tie(a.gpu, a.time) < std::tie(b.gpu, b.time);
  });
  auto sample = [&t](int gpu, double time, const std::array<int64_t, kNumMemCategories>& bytes) {
    t.BeginEvent();
    t.KeyStr("name", "memory (GiB)");
    t.KeyStr("ph", "C");
    t.KeyInt("pid", gpu);
    t.KeyNsAsUs("ts", Ns(time));
    t.Key("args");
    t.Raw("{");
    for (int c = 0; c < kNumMemCategories; ++c) {
      t.Key(MemCategoryName(static_cast<MemCategory>(c)));
      t.Num(static_cast<double>(bytes[c]) / static_cast<double>(kGiB), "%.4f");
    }
    t.Raw("}");
    t.EndEvent();
  };
  size_t i = 0;
  for (size_t gpu = 0; gpu < g.gpus.size(); ++gpu) {
    std::array<int64_t, kNumMemCategories> bytes = g.gpus[gpu].static_memory;
    sample(static_cast<int>(gpu), 0, bytes);
    while (i < changes.size() && changes[i].gpu == static_cast<int32_t>(gpu)) {
      double time = changes[i].time;
      for (; i < changes.size() && changes[i].gpu == static_cast<int32_t>(gpu) && changes[i].time == time; ++i) {
        bytes[changes[i].category] += changes[i].bytes;
      }
      sample(static_cast<int>(gpu), time, bytes);
    }
  }
}

}  // namespace

std::string ChromeTraceJson(const ExecGraph& graph, const SimResult& result) {
  TraceText t;
  t.Raw("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
  WriteNames(t, graph);
  for (size_t gpu = 0; gpu < graph.gpus.size(); ++gpu) {
    for (const auto& stream : graph.gpus[gpu].streams) {
      for (TaskId id : stream) WriteTask(t, graph, result, id);
    }
  }
  WriteP2pArrows(t, graph, result);
  WriteMemoryCounters(t, graph, result);
  t.Raw("\n],\"otherData\":{\"generator\":\"proteus-sim\",\"makespan_us\":");
  t.Num(result.makespan_s * 1e6);
  t.Raw("}}\n");
  return t.Take();
}

int64_t WriteChromeTrace(const ExecGraph& graph, const SimResult& result, const std::string& path) {
  std::string text = ChromeTraceJson(graph, result);
  WriteFileAtomic(path, text);
  return static_cast<int64_t>(text.size());
}

}  // namespace proteus
