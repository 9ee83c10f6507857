// proteus-sim collective --cluster C --op all_reduce --ranks 8 [--nodes N] --sizes 8B:8GB: an
// nccl-tests style table of predicted times, algbw and busbw, with NCCL's algorithm and protocol.
#include <CLI/CLI.hpp>
#include <memory>
#include <ostream>

#include "common/costdb.h"
#include "common/error.h"
#include "common/json_text.h"
#include "common/units.h"
#include "simulator/cli/app.h"
#include "topo/cluster.h"
#include "topo/coll_table.h"
#include "topo/measured_model.h"

namespace proteus {
namespace {

struct CollectiveArgs {
  std::string cluster, op = "all_reduce", sizes = "8B:8GB", dtype = "fp32", nccl_version, algo, proto, db;
  int ranks = 0, nodes = 0, gpus_per_thread = 1;
  bool json = false;
};

void RunCollective(const CollectiveArgs& a, std::ostream& out) {
  CollOp op;
  if (!ParseCollOp(a.op, &op))
    throw UserError("--op", "unknown collective \"" + a.op + "\" (all_reduce, all_gather, reduce_scatter, broadcast, "
                            "reduce, alltoall, sendrecv)");
  auto colon = a.sizes.find(':');
  auto lo = ParseBytes(a.sizes.substr(0, colon));
  auto hi = colon == std::string::npos ? lo : ParseBytes(a.sizes.substr(colon + 1));
  if (!lo || !hi) throw UserError("--sizes", "expected MIN:MAX such as 8B:8GB, got \"" + a.sizes + "\"");
  auto dtype = ParseDType(a.dtype);
  if (!dtype) throw UserError("--dtype", "unknown dtype \"" + a.dtype + "\"");
  CollectiveModelOptions options;
  options.nccl_version = a.nccl_version;
  if (!a.algo.empty()) {
    NcclAlgo algo;
    if (!ParseAlgo(a.algo, &algo)) throw UserError("--algo", "unknown algorithm \"" + a.algo + "\"");
    options.force_algo = algo;
  }
  if (!a.proto.empty()) {
    NcclProto proto;
    if (!ParseProto(a.proto, &proto)) throw UserError("--proto", "unknown protocol \"" + a.proto + "\" (ll, ll128, simple)");
    options.force_proto = proto;
  }
  Cluster cluster = LoadCluster(a.cluster);
  int ranks = a.ranks > 0 ? a.ranks : cluster.NumGpus();
  std::vector<GpuId> group = NcclTestsGroup(cluster, ranks, a.nodes);
  std::unique_ptr<CostDb> db;
  if (!a.db.empty()) db = std::make_unique<CostDb>(CostDb::Load(a.db));
  auto model = MakeCollectiveModel(cluster, db.get(), options);
  HarnessOptions harness;
  harness.gpus_per_thread = a.gpus_per_thread;
  auto rows = SweepCollective(*model, op, group, *dtype, *lo, *hi, harness);
  int nodes = cluster.gpu_node[group.back()] + 1;
  if (a.json) out << JsonText(CollectiveTableJson(rows, cluster.name, op, ranks, nodes)) << "\n";
  else out << FormatCollectiveTable(rows, cluster.name, op, ranks, nodes);
}

}  // namespace

void AddCollectiveCommand(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("collective", "Predict an NCCL collective over a size sweep, as nccl-tests prints it");
  auto a = std::make_shared<CollectiveArgs>();
  cmd->add_option("--cluster", a->cluster, "Cluster file or shipped name")->required();
  cmd->add_option("--op", a->op, "all_reduce, all_gather, reduce_scatter, broadcast, reduce, alltoall, sendrecv");
  cmd->add_option("--ranks", a->ranks, "GPUs in the group (default: the whole cluster)");
  cmd->add_option("--nodes", a->nodes, "Nodes the ranks spread over (default: as few as hold them)");
  cmd->add_option("--sizes", a->sizes, "MIN:MAX bytes, doubling (nccl-tests -b/-e/-f 2)");
  cmd->add_option("--dtype", a->dtype, "Element type (fp32, bf16, ...)");
  cmd->add_option("--nccl-version", a->nccl_version, "NCCL version whose tuning constants to use (" + ModelledNcclVersions() + ")");
  cmd->add_option("--algo", a->algo, "Force an algorithm (NCCL_ALGO): ring, tree, nvls, nvls_tree, collnet_direct, collnet_chain, pat");
  cmd->add_option("--proto", a->proto, "Force a protocol (NCCL_PROTO): ll, ll128, simple");
  cmd->add_option("--db", a->db, "Cost database whose measured curves take precedence");
  cmd->add_option("-g,--gpus-per-thread", a->gpus_per_thread, "nccl-tests -g: GPUs driven by one thread (adds launch time)");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([&out, a] { RunCollective(*a, out); });
}

}  // namespace proteus
