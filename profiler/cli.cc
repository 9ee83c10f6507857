#include "profiler/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/units.h"
#include "profiler/canonical.h"
#include "profiler/op_semantics.h"
#include "profiler/runner.h"
#include "profiler/sweep.h"

namespace proteus::profiler {
namespace {

enum class Part { kNode, kOps, kCollectives, kInterference, kTopology };

struct Options {
  std::string output;
  bool dry_run = false, list = false, retry_errors = false;
  std::string gpu = "h100";
  int gpus = 8;
  // ops
  std::string manifest;
  std::vector<std::string> kinds, dtypes;
  bool no_secondary = false;
  double max_call_ms = 20;
  // collectives
  std::vector<std::string> coll_ops;
  std::string min_bytes = "8", max_bytes = "4G";
  bool default_algo_only = false;
};

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int64_t BytesFlag(const std::string& flag, const std::string& text) {
  auto b = ParseBytes(text);
  if (!b || *b <= 0) throw UserError(flag, "expected a positive size such as 8, 64K, 1M, 4G; got \"" + text + "\"");
  return *b;
}

std::vector<OpKey> ManifestOps(const Options& o, const NodeDesc& node) {
  Manifest m = Manifest::Load(o.manifest);
  std::vector<OpKey> keys;
  for (size_t i = 0; i < m.ops.size(); ++i) {
    std::string where = o.manifest + ": ops[" + std::to_string(i) + "]";
    if (auto why = UnsupportedReason(m.ops[i])) {
      LogWarn(where + ": " + *why + "; skipped (the simulator keeps its estimate)");
      continue;
    }
    OpKey k = Canonicalize(m.ops[i], where);
    bool fp8 = k.dtype == DType::kFp8E4M3 || k.dtype == DType::kFp8E5M2;
    if (fp8 && !node.device.HasFp8() && k.kind != "copy") {
      LogWarn(k.ToString() + ": this GPU has no fp8 tensor cores; skipped");
      continue;
    }
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  return keys;
}

std::vector<OpKey> FilterOps(std::vector<OpKey> keys, const Options& o) {
  for (const auto& kind : o.kinds)
    if (!FindOpKind(kind)) throw UserError("--kinds", "unknown op kind \"" + kind + "\"");
  std::vector<DType> dts;
  for (const auto& d : o.dtypes) {
    auto t = ParseDType(d);
    if (!t) throw UserError("--dtypes", "unknown dtype \"" + d + "\" (fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2)");
    dts.push_back(*t);
  }
  std::erase_if(keys, [&](const OpKey& k) {
    bool kind_ok = o.kinds.empty() || std::find(o.kinds.begin(), o.kinds.end(), k.kind) != o.kinds.end();
    bool dt_ok = dts.empty() || std::find(dts.begin(), dts.end(), k.dtype) != dts.end();
    return !kind_ok || !dt_ok;
  });
  return keys;
}

Plan BuildPlan(Part part, const Options& o, const NodeDesc& node) {
  Plan plan;
  if (part == Part::kNode || part == Part::kOps) {
    if (!o.manifest.empty()) {
      plan.ops = ManifestOps(o, node);
    } else {
      SweepOptions so;
      so.secondary_dtypes = !o.no_secondary;
      so.max_call_s = o.max_call_ms * 1e-3;
      so.gpus = node.gpus;
      plan.ops = DefaultSweep(node.device, so);
    }
    plan.ops = FilterOps(std::move(plan.ops), o);
  }
  if (part == Part::kNode || part == Part::kCollectives) {
    CollectiveOptions co;
    if (!o.coll_ops.empty()) {
      for (const auto& op : o.coll_ops)
        if (std::find(co.ops.begin(), co.ops.end(), op) == co.ops.end())
          throw UserError("--ops", "unknown collective \"" + op +
                                       "\" (all_reduce, all_gather, reduce_scatter, alltoall, broadcast, sendrecv)");
      co.ops = o.coll_ops;
    }
    co.min_bytes = BytesFlag("--min-bytes", o.min_bytes);
    co.max_bytes = BytesFlag("--max-bytes", o.max_bytes);
    if (co.min_bytes > co.max_bytes) throw UserError("--min-bytes", "is larger than --max-bytes");
    co.all_algos = !o.default_algo_only;
    plan.collectives = PlanCollectives(node, co);
  }
  if (part == Part::kNode || part == Part::kInterference) plan.interference = PlanInterference(node);
  if (part == Part::kNode || part == Part::kTopology) plan.topology = true;
  return plan;
}

int Execute(Part part, const Options& o, std::ostream& out, const BackendFactory& make_backend) {
  if (o.dry_run) {
    auto preset = FindDevicePreset(o.gpu);
    if (!preset) throw UserError("--gpu", "unknown GPU \"" + o.gpu + "\" (known: a100, h100, h200, b200)");
    if (o.gpus < 1) throw UserError("--gpus", "must be at least 1");
    NodeDesc node{*preset, o.gpus, 1};
    PrintPlan(out, BuildPlan(part, o, node), node, o.list);
    return 0;
  }
  if (o.output.empty()) throw UserError("-o/--output", "required: the cost database to write (e.g. data/db/h100.json)");
  std::unique_ptr<Backend> backend = make_backend();
  NodeProbe probe = backend->Probe();
  NodeDesc node{PresetForDevice(probe.device), probe.gpus, probe.nodes};
  Plan plan = BuildPlan(part, o, node);
  if (probe.leader) {
    std::ostringstream os;
    PrintPlan(os, plan, node, false);
    LogInfo(os.str());
  }
  RunOptions ro{o.output, o.retry_errors, 5.0, NowIso8601()};
  RunSummary s = RunPlan(plan, probe, *backend, ro);
  if (probe.leader)
    out << "wrote " << o.output << ": ops " << s.ops_measured << " measured, " << s.ops_oom << " oom, "
        << s.ops_error << " error, " << s.ops_skipped << " already there; collective points "
        << s.points_measured << " measured, " << s.points_skipped << " already there, " << s.points_rejected
        << " not offered by NCCL; interference pairs " << s.interference_measured << "\n";
  return 0;
}

void AddCommon(CLI::App* c, Options& o) {
  c->add_option("-o,--output", o.output, "Cost database to write; an existing one is resumed (keys already there are skipped)");
  c->add_flag("--dry-run", o.dry_run, "Print the plan and its estimated duration; touches no GPU");
  c->add_flag("--list", o.list, "With --dry-run: list every op key");
  c->add_option("--gpu", o.gpu, "With --dry-run: the GPU to plan for (a100, h100, h200, b200)")->capture_default_str();
  c->add_option("--gpus", o.gpus, "With --dry-run: GPUs per node")->capture_default_str();
  c->add_flag("--retry-errors", o.retry_errors, "Measure again the keys recorded with status \"error\"");
}

void AddOpsOptions(CLI::App* c, Options& o) {
  c->add_option("--manifest", o.manifest, "Measure exactly the ops of this proteus.manifest/1 file (proteus-sim simulate --emit-manifest)");
  c->add_option("--kinds", o.kinds, "Only these op kinds (e.g. gemm,attention)")->delimiter(',');
  c->add_option("--dtypes", o.dtypes, "Only these dtypes (e.g. bf16,fp8_e4m3)")->delimiter(',');
  c->add_flag("--no-secondary", o.no_secondary, "Default sweep: skip the fp16/tf32/fp32/fp8 grids");
  c->add_option("--max-call-ms", o.max_call_ms, "Default sweep: drop shapes estimated slower than this per call")->capture_default_str();
}

void AddCollOptions(CLI::App* c, Options& o) {
  c->add_option("--ops", o.coll_ops, "Only these collectives (all_reduce,all_gather,reduce_scatter,alltoall,broadcast,sendrecv)")->delimiter(',');
  c->add_option("--min-bytes", o.min_bytes, "Smallest size (nccl-tests convention)")->capture_default_str();
  c->add_option("--max-bytes", o.max_bytes, "Largest size")->capture_default_str();
  c->add_flag("--default-only", o.default_algo_only, "Only NCCL's default algorithm/protocol choice");
}

}  // namespace

int RunProteusProfile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const BackendFactory& make_backend) {
  CLI::App app{"proteus-profile: measure a GPU node once into a proteus.costdb/1 cost database", "proteus-profile"};
  app.set_version_flag("--version", std::string("proteus-profile ") + PROTEUS_VERSION);
  app.require_subcommand(1);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print only results (no progress)");
  app.add_flag("-v,--verbose", verbose, "Print debugging detail on stderr");
  app.parse_complete_callback([&] { SetLogLevel(quiet ? LogLevel::kQuiet : verbose ? LogLevel::kDebug : LogLevel::kInfo); });
  Options o;
  Part part = Part::kNode;
  auto sub = [&](const char* name, const char* help, Part p) {
    CLI::App* c = app.add_subcommand(name, help);
    AddCommon(c, o);
    c->callback([&part, p] { part = p; });
    return c;
  };
  CLI::App* node = sub("node", "Everything with defaults: ops (default sweep), collectives, interference, topology", Part::kNode);
  AddOpsOptions(node, o);
  AddCollOptions(node, o);
  AddOpsOptions(sub("ops", "Operator kernel times (default sweep, or --manifest)", Part::kOps), o);
  AddCollOptions(sub("collectives", "NCCL collective curves, every group size, algorithm and protocol", Part::kCollectives), o);
  sub("interference", "Slowdown of compute and collectives when they co-run", Part::kInterference);
  sub("topology", "The node's NCCL topology dump, GPU properties and versions", Part::kTopology);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
    return Execute(part, o, out, make_backend);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);
    err << "error: " << e.what() << "\nRun with --help for usage.\n";
    return 2;
  } catch (...) {
    return ExitCodeForCurrentException(err);
  }
}

}  // namespace proteus::profiler
