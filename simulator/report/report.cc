#include "simulator/report/report.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "common/units.h"

namespace proteus {

int64_t Report::PeakMemory() const {
  int64_t peak = 0;
  for (const auto& g : per_gpu) peak = std::max(peak, g.peak_memory);
  return peak;
}

double Report::Metric(const std::string& name) const {
  if (name == "iteration_time_s") return iteration_time_s;
  if (name == "samples_per_s") return samples_per_s;
  if (name == "tokens_per_s") return tokens_per_s;
  if (name == "tflops_per_gpu") return tflops_per_gpu;
  if (name == "hw_tflops_per_gpu") return hw_tflops_per_gpu;
  if (name == "mfu") return mfu;
  if (name == "peak_memory_gib") return static_cast<double>(PeakMemory()) / kGiB;
  throw InternalError("unknown report metric " + name);
}

Json ReportToJson(const Report& r) {
  Json gpus = Json::array();
  for (const auto& g : r.per_gpu) {
    Json mem = Json::object();
    for (int c = 0; c < kNumMemCategories; ++c)
      mem[std::string(MemCategoryName(static_cast<MemCategory>(c)))] = g.memory_at_peak[c];
    mem["reserve"] = g.memory_reserve;
    mem["fragmentation"] = g.memory_fragmentation;
    Json exposed = Json::object(), hidden = Json::object();
    for (int s = 1; s < kNumStreams; ++s) {
      exposed[std::string(StreamName(static_cast<StreamKind>(s)))] = g.exposed_comm_s[s];
      hidden[std::string(StreamName(static_cast<StreamKind>(s)))] = g.hidden_comm_s[s];
    }
    gpus.push_back({{"label", g.label}, {"multiplicity", g.multiplicity}, {"peak_memory_bytes", g.peak_memory},
                    {"memory_capacity_bytes", g.memory_capacity}, {"memory_at_peak_bytes", mem}, {"oom", g.oom},
                    {"compute_s", g.compute_s}, {"exposed_comm_s", exposed}, {"hidden_comm_s", hidden},
                    {"idle_s", g.idle_s}, {"host_optimizer_bytes", g.host_optimizer_bytes},
                    {"host_gradient_bytes", g.host_gradient_bytes},
                    {"host_activation_bytes", g.host_activation_bytes}});
    if (r.MixedGpuTypes()) gpus.back()["gpu_type"] = g.gpu_type;
  }
  Json sources = Json::object();
  for (int s = 0; s < kNumCostSources; ++s)
    sources[std::string(CostSourceName(static_cast<CostSource>(s)))] = r.cost_sources[s];
  Json doc = {{"format", "proteus.report/1"},
              {"inputs",
               {{"model", r.model}, {"cluster", r.cluster}, {"strategy", r.strategy}, {"gpu_type", r.gpu_type},
                {"dtype", r.dtype}, {"precision", r.precision}, {"params", r.params}, {"gpus", r.gpus},
                {"simulated_gpus", r.simulated_gpus},
                {"global_batch", r.global_batch}, {"micro_batches", r.micro_batches}, {"seq_len", r.seq_len}}},
              {"iteration_time_s", r.iteration_time_s},
              {"samples_per_s", r.samples_per_s},
              {"tokens_per_s", r.tokens_per_s},
              {"model_flops_per_iteration", r.model_flops},
              {"hw_flops_per_iteration", r.hw_flops},
              {"tflops_per_gpu", r.tflops_per_gpu},
              {"hw_tflops_per_gpu", r.hw_tflops_per_gpu},
              {"mfu", r.mfu},
              {"bubble_fraction", r.bubble_fraction},
              {"peak_memory_bytes", r.PeakMemory()},
              {"oom", r.oom},
              {"fit_advice", r.fit_advice},
              {"gpus", gpus},
              {"cost_sources", sources},
              {"calibration", r.calibration},
              {"uncalibrated", r.UncalibratedOnly()}};
  // Present only where they say something, so a single-type report is as it always was.
  if (r.seq_len == 0 && r.image_size > 0) {
    doc["inputs"]["image_size"] = r.image_size;
    doc["images_per_s"] = r.samples_per_s;
  }
  if (r.MixedGpuTypes()) {
    Json types = Json::array();
    for (const auto& t : r.gpu_types)
      types.push_back({{"type", t.type}, {"gpus", t.gpus}, {"peak_tflops", t.peak_flops / 1e12}});
    doc["inputs"]["gpu_types"] = types;
  }
  if (!r.notes.empty()) doc["notes"] = r.notes;
  return doc;
}

bool Report::UncalibratedOnly() const {
  auto n = [&](CostSource s) { return cost_sources[static_cast<int>(s)]; };
  return n(CostSource::kRoofline) > 0 && n(CostSource::kMeasured) == 0 && n(CostSource::kInterpolated) == 0 &&
         n(CostSource::kCalibrated) == 0;
}

namespace {

std::string Gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / kGiB);
  return buf;
}

std::string Pct(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%5.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}

void PrintLine(std::ostream& out, const char* key, const std::string& value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "  %-22s ", key);
  out << buf << value << "\n";
}

// "(GPU types: A100-SXM4-80GB pp0/dp0/tp0; V100-SXM2-32GB pp1/dp0/tp0)": which rows are which
// type, at most three labels per type.
void PrintRowTypes(const Report& r, std::ostream& out) {
  out << "  (GPU types:";
  for (size_t t = 0; t < r.gpu_types.size(); ++t) {
    out << (t ? "; " : " ") << r.gpu_types[t].type;
    int rows = 0;
    for (const auto& g : r.per_gpu) {
      if (g.gpu_type != r.gpu_types[t].type) continue;
      if (++rows <= 3) out << " " << g.label;
    }
    if (rows > 3) out << " and " << rows - 3 << " more";
  }
  out << ")\n";
}

void PrintMemory(const Report& r, std::ostream& out) {
  out << "\nMemory per GPU (at peak)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-18s %5s %11s %11s %11s %11s %11s %11s %11s %11s\n", "gpu", "x", "weights",
                "gradients", "optimizer", "activations", "buffers", "reserve", "peak", "capacity");
  out << buf;
  for (const auto& g : r.per_gpu) {
    std::snprintf(buf, sizeof buf, "  %-18s %5d %11s %11s %11s %11s %11s %11s %11s %11s%s\n", g.label.c_str(),
                  g.multiplicity, Gib(g.memory_at_peak[0]).c_str(), Gib(g.memory_at_peak[1]).c_str(),
                  Gib(g.memory_at_peak[2]).c_str(), Gib(g.memory_at_peak[3]).c_str(),
                  Gib(g.memory_at_peak[4]).c_str(), Gib(g.memory_reserve + g.memory_fragmentation).c_str(),
                  Gib(g.peak_memory).c_str(), Gib(g.memory_capacity).c_str(), g.oom ? "  OOM" : "");
    out << buf;
  }
  if (r.per_gpu.empty()) return;
  const GpuReport& first = r.per_gpu.front();
  out << "  (buffers: NCCL channel buffers and transient gather buffers; reserve: " << Gib(first.memory_reserve)
      << " fixed per GPU for the CUDA context, kernels and cuBLAS workspaces, plus allocator fragmentation on "
         "task allocations, "
      << Gib(first.memory_fragmentation) << " on " << first.label << ")\n";
  if (r.MixedGpuTypes()) PrintRowTypes(r, out);
}

// By how much the most loaded GPU is over its capacity, and the advice that would make it fit.
void PrintVerdict(const Report& r, std::ostream& out) {
  const GpuReport* worst = nullptr;
  for (const auto& g : r.per_gpu)
    if (g.oom && (!worst || g.peak_memory - g.memory_capacity > worst->peak_memory - worst->memory_capacity))
      worst = &g;
  out << "  VERDICT: OUT OF MEMORY (peak " << Gib(r.PeakMemory()) << " exceeds a GPU's capacity";
  if (worst)
    out << "; " << worst->label << " is " << Gib(worst->peak_memory - worst->memory_capacity) << " over its "
        << Gib(worst->memory_capacity);
  out << ")\n";
  for (const auto& a : r.fit_advice) out << "    to fit: " << a << "\n";
}

void PrintTime(const Report& r, std::ostream& out) {
  out << "\nTime per GPU (share of the iteration)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-18s %9s %9s %9s %9s %9s\n", "gpu", "compute", "tp comm", "dp comm",
                "pp comm", "idle");
  out << buf;
  double t = r.iteration_time_s;
  for (const auto& g : r.per_gpu) {
    std::snprintf(buf, sizeof buf, "  %-18s %9s %9s %9s %9s %9s\n", g.label.c_str(), Pct(g.compute_s, t).c_str(),
                  Pct(g.exposed_comm_s[1], t).c_str(), Pct(g.exposed_comm_s[2], t).c_str(),
                  Pct(g.exposed_comm_s[3], t).c_str(), Pct(g.idle_s, t).c_str());
    out << buf;
  }
  out << "  (communication counted only where it is exposed: the compute stream idles meanwhile)\n";
}

// Each comm stream's busy time split into what overlapping hid behind compute and what it left exposed.
void PrintOverlap(const Report& r, std::ostream& out) {
  out << "\nCommunication per GPU (hidden behind compute / exposed)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-18s %21s %21s %21s\n", "gpu", "tp comm", "dp comm", "pp comm");
  out << buf;
  for (const auto& g : r.per_gpu) {
    std::string cols[3];
    for (int s = 1; s <= 3; ++s)
      cols[s - 1] = FormatSeconds(g.hidden_comm_s[s]) + " / " + FormatSeconds(g.exposed_comm_s[s]);
    std::snprintf(buf, sizeof buf, "  %-18s %21s %21s %21s\n", g.label.c_str(), cols[0].c_str(), cols[1].c_str(),
                  cols[2].c_str());
    out << buf;
  }
}

// Optimizer offload: what each GPU keeps in CPU memory and how much of its copy stream (gradient
// and parameter copies, CPU Adam) the compute stream waited for.
void PrintHost(const Report& r, std::ostream& out) {
  bool any = false;
  for (const auto& g : r.per_gpu) any = any || g.host_optimizer_bytes > 0 || g.host_gradient_bytes > 0;
  if (!any) return;
  out << "\nOptimizer offload per GPU (CPU memory; copy stream: PCIe copies and CPU Adam, hidden / exposed, and the\n"
         "exposed share of the iteration, which the time table's columns leave out)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-18s %15s %15s %29s\n", "gpu", "host optimizer", "host gradients",
                "copy stream");
  out << buf;
  int copy = static_cast<int>(StreamKind::kCopy);
  for (const auto& g : r.per_gpu) {
    std::string stream = FormatSeconds(g.hidden_comm_s[copy]) + " / " + FormatSeconds(g.exposed_comm_s[copy]) +
                         " (" + Pct(g.exposed_comm_s[copy], r.iteration_time_s).substr(1) + ")";
    std::snprintf(buf, sizeof buf, "  %-18s %15s %15s %29s\n", g.label.c_str(), Gib(g.host_optimizer_bytes).c_str(),
                  Gib(g.host_gradient_bytes).c_str(), stream.c_str());
    out << buf;
  }
}

// Activation offload: the host memory of one micro-batch's offloaded activations, the bytes each
// micro-batch moves (there and back), and the copy stream's hidden / exposed time.
void PrintHostActivations(const Report& r, std::ostream& out) {
  bool any = false;
  for (const auto& g : r.per_gpu) any = any || g.host_activation_bytes > 0;
  if (!any) return;
  out << "\nActivation offload per GPU (CPU memory: one micro-batch's offloaded activations; PCIe per micro-batch:\n"
         "to the host and back; copy stream hidden / exposed, and the exposed share of the iteration)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-18s %16s %16s %29s\n", "gpu", "host activations", "PCIe per mb", "copy stream");
  out << buf;
  int copy = static_cast<int>(StreamKind::kCopy);
  for (const auto& g : r.per_gpu) {
    std::string stream = FormatSeconds(g.hidden_comm_s[copy]) + " / " + FormatSeconds(g.exposed_comm_s[copy]) +
                         " (" + Pct(g.exposed_comm_s[copy], r.iteration_time_s).substr(1) + ")";
    std::snprintf(buf, sizeof buf, "  %-18s %16s %16s %29s\n", g.label.c_str(), Gib(g.host_activation_bytes).c_str(),
                  Gib(2 * g.host_activation_bytes).c_str(), stream.c_str());
    out << buf;
  }
}

// A sequence model counts tokens; a vision model images of image_size^2; anything else samples.
std::string BatchLine(const Report& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%lld (%lld micro-batches per pipeline)", (long long)r.global_batch,
                (long long)r.micro_batches);
  std::string line = buf;
  if (r.seq_len > 0) return line + ", seq " + std::to_string(r.seq_len);
  if (r.image_size > 0) return line + ", images " + std::to_string(r.image_size) + "x" + std::to_string(r.image_size);
  return line;
}

std::string ThroughputLine(const Report& r) {
  char buf[128];
  if (r.seq_len > 0)
    std::snprintf(buf, sizeof buf, "%.2f samples/s, %.0f tokens/s", r.samples_per_s, r.tokens_per_s);
  else
    std::snprintf(buf, sizeof buf, "%.2f %s/s", r.samples_per_s, r.image_size > 0 ? "images" : "samples");
  return buf;
}

}  // namespace

void PrintReportTable(const Report& r, std::ostream& out) {
  char buf[128];
  out << "proteus-sim: " << r.model << " on " << r.cluster << "\n";
  PrintLine(out, "strategy", r.strategy);
  std::string types = r.gpu_type;
  if (r.MixedGpuTypes()) {
    types.clear();
    for (const auto& t : r.gpu_types) types += (types.empty() ? "" : " + ") + std::to_string(t.gpus) + " " + t.type;
  }
  PrintLine(out, "GPUs",
            std::to_string(r.gpus) + " (" + types + "), " + std::to_string(r.simulated_gpus) + " simulated");
  for (const auto& note : r.notes) PrintLine(out, "note", note);
  std::snprintf(buf, sizeof buf, "%.2fB, %s", static_cast<double>(r.params) / 1e9,
                (r.precision.empty() ? r.dtype : r.precision).c_str());
  PrintLine(out, "parameters", buf);
  PrintLine(out, "global batch", BatchLine(r));
  out << "\n";
  if (r.oom) PrintVerdict(r, out);
  PrintLine(out, "iteration time", FormatSeconds(r.iteration_time_s));
  PrintLine(out, "throughput", ThroughputLine(r));
  std::snprintf(buf, sizeof buf, "%.1f model, %.1f with recomputation", r.tflops_per_gpu, r.hw_tflops_per_gpu);
  PrintLine(out, "TFLOP/s per GPU", buf);
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * r.mfu);
  PrintLine(out, "MFU", buf);
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * r.bubble_fraction);
  PrintLine(out, "pipeline bubble", buf);
  PrintLine(out, "peak memory per GPU", Gib(r.PeakMemory()));
  PrintMemory(r, out);
  PrintTime(r, out);
  PrintOverlap(r, out);
  PrintHost(r, out);
  PrintHostActivations(r, out);
  out << "\nCost sources (tasks)\n  ";
  for (int s = 0; s < kNumCostSources; ++s)
    if (r.cost_sources[s] > 0) out << CostSourceName(static_cast<CostSource>(s)) << " " << r.cost_sources[s] << "  ";
  out << "\n";
  if (!r.calibration.empty()) out << "  calibration: " << r.calibration << "\n";
  if (r.UncalibratedOnly())
    out << "  UNCALIBRATED: every compute cost is a datasheet roofline estimate (no measured or calibrated "
           "database for "
        << r.gpu_type << "; see `proteus-sim calibrate` and data/db/)\n";
}

}  // namespace proteus
