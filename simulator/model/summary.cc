#include "simulator/model/summary.h"

#include <cstdio>

#include "simulator/model/backward.h"

namespace proteus {
namespace {

ModuleSummary Row(const Module& m, const std::string& path, int depth) {
  ModuleSummary r;
  r.path = path.empty() ? "(model)" : path;
  r.type = m.type;
  r.depth = depth;
  r.params = m.Params();
  r.fwd_flops = m.ForwardFlops();
  r.bwd_flops = BackwardFlops(m);
  r.saved_bytes = SavedActivationBytes(m);
  VisitOps(m, [&](const std::string&, const Operator&) { ++r.ops; });
  return r;
}

bool SameNumbers(const ModuleSummary& a, const ModuleSummary& b) {
  return a.type == b.type && a.params == b.params && a.fwd_flops == b.fwd_flops && a.bwd_flops == b.bwd_flops &&
         a.saved_bytes == b.saved_bytes && a.ops == b.ops;
}

void Walk(const Module& m, const std::string& path, int depth, int max_depth, std::vector<ModuleSummary>& out) {
  if (depth >= max_depth) return;
  for (size_t i = 0; i < m.children.size();) {
    const Module& c = m.children[i];
    std::string cpath = JoinPath(path, c.name);
    ModuleSummary r = Row(c, cpath, depth + 1);
    size_t j = i + 1;
    while (j < m.children.size() && SameNumbers(r, Row(m.children[j], "", depth + 1))) ++j;
    r.count = static_cast<int>(j - i);
    out.push_back(r);
    Walk(c, cpath, depth + 1, max_depth, out);
    i = j;
  }
}

std::string Human(double x) {
  char buf[32];
  const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
  int u = 0;
  while (x >= 1000 && u < 6) {
    x /= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", x, units[u]);
  return buf;
}

}  // namespace

ModelSummary SummarizeModel(const Model& model, int max_depth) {
  ModelSummary s;
  s.name = model.name;
  s.family = model.family;
  s.dtype = model.dtype;
  ModuleSummary root = Row(model.root, "", 0);
  s.params = root.params;
  s.fwd_flops = root.fwd_flops;
  s.bwd_flops = root.bwd_flops;
  s.saved_bytes = root.saved_bytes;
  s.tokens_per_sample = model.seq_len;
  s.modules.push_back(root);
  Walk(model.root, "", 0, max_depth, s.modules);
  return s;
}

std::string FormatModelSummary(const ModelSummary& s) {
  std::string out = s.name + " (" + s.family + ", " + std::string(DTypeName(s.dtype)) + "): " + Human(s.params) +
                    " parameters, " + Human(s.fwd_flops + s.bwd_flops) + "FLOP per sample (fwd+bwd)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-18s %6s %10s %11s %11s %12s\n", "module", "type", "count", "params",
                "fwd FLOP", "bwd FLOP", "act MiB");
  out += line;
  for (const auto& r : s.modules) {
    std::string name = std::string(2 * r.depth, ' ') + r.path;
    std::snprintf(line, sizeof line, "%-28s %-18s %6d %10s %11s %11s %12.1f\n", name.c_str(), r.type.c_str(), r.count,
                  Human(static_cast<double>(r.params)).c_str(), Human(r.fwd_flops).c_str(),
                  Human(r.bwd_flops).c_str(), static_cast<double>(r.saved_bytes) / (1 << 20));
    out += line;
  }
  return out;
}

}  // namespace proteus
