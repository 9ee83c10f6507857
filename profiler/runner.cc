#include "profiler/runner.h"

#include <chrono>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "common/stored_time.h"
#include "profiler/journal.h"
#include "profiler/output_lock.h"
#include "profiler/stats.h"
#include "profiler/sweep.h"

namespace proteus::profiler {
namespace {

bool PointDone(const CostDb& db, const CollectivePoint& p) {
  const CollectiveCurve* c = db.FindCurve(p.key);
  if (!c) return false;
  for (const auto& q : c->points)
    if (q.bytes == p.bytes) return true;
  return false;
}

bool InterferenceDone(const CostDb& db, const InterferencePair& p) {
  for (const auto& e : db.interference)
    if (e.compute_class == p.compute_class && e.collective == p.comm.op) return true;
  return false;
}

// What the database holds is what it writes and reads back: every recorded time rounded to the
// 15 digits a stored value keeps (common/stored_time.h), so a database saved, loaded and saved
// again, or resumed from its journal, holds the same doubles.
TimeStats Storable(TimeStats t) {
  t.median_s = StorableSeconds(t.median_s);
  t.p10_s = StorableSeconds(t.p10_s);
  t.p90_s = StorableSeconds(t.p90_s);
  t.wall_median_s = StorableSeconds(t.wall_median_s);
  return t;
}

CurvePoint Storable(CurvePoint p) {
  p.time_s = StorableSeconds(p.time_s);
  p.p10_s = StorableSeconds(p.p10_s);
  p.p90_s = StorableSeconds(p.p90_s);
  return p;
}

// Owns the database being written, its journal and the save cadence.
class Recorder {
 public:
  Recorder(CostDb& db, const RunOptions& opt)
      : db_(db), opt_(opt), journal_(opt.output + ".journal"), last_save_(Clock::now()) {
    journal_.ArmSignals();
  }
  ~Recorder() {
    try { Save(); } catch (...) {}  // a destructor must not throw; the journal keeps the data
  }
  void InFlight(const OpKey& k) { journal_.AppendInFlight(k); }
  void Op(OpEntry e) {
    e.time = Storable(e.time);
    CostDb frag;
    frag.PutOp(e);
    journal_.Append(frag);
    db_.PutOp(std::move(e));
    MaybeSave();
  }
  void Point(const CollectiveKey& key, CurvePoint p) {
    p = Storable(p);
    CostDb frag;
    frag.PutCurve({key, {p}});
    journal_.Append(frag);
    db_.PutCurve({key, {p}});
    MaybeSave();
  }
  void Interference(const InterferenceEntry& e) {
    CostDb frag;
    frag.interference.push_back(e);
    journal_.Append(frag);
    for (auto& i : db_.interference)
      if (i.compute_class == e.compute_class && i.collective == e.collective) { i = e; MaybeSave(); return; }
    db_.interference.push_back(e);
    MaybeSave();
  }
  void Topology(const std::string& xml) {
    CostDb frag;
    frag.topology_xml = xml;
    journal_.Append(frag);
    db_.topology_xml = xml;
    MaybeSave();
  }
  void Save() {
    db_.Save(opt_.output);  // fsynced, file and folder
    journal_.Clear();       // everything in it is now in the database
    last_save_ = Clock::now();
  }

 private:
  using Clock = std::chrono::steady_clock;
  void MaybeSave() {
    if (std::chrono::duration<double>(Clock::now() - last_save_).count() >= opt_.save_interval_s) Save();
  }
  CostDb& db_;
  const RunOptions& opt_;
  Journal journal_;
  Clock::time_point last_save_;
};

void StampHeader(CostDb& db, const NodeProbe& probe, const RunOptions& opt) {
  if (!db.device.name.empty() && db.device.name != probe.device.name)
    throw UserError(opt.output, "this database was measured on \"" + db.device.name + "\", this node has \"" +
                                    probe.device.name + "\"; write to another file (-o)");
  db.device = probe.device;
  db.software = probe.software;
  db.host = probe.host;
  db.date = opt.date;
  db.profiler_version = std::string("proteus-profile ") + PROTEUS_VERSION;
  db.projected_from.clear();
}

}  // namespace

Plan Remaining(const Plan& plan, const CostDb& done, bool retry_errors) {
  Plan r;
  r.topology = plan.topology && done.topology_xml.empty();
  for (const auto& k : plan.ops) {
    const OpEntry* e = done.FindOp(k);
    if (!e || (retry_errors && e->status == "error")) r.ops.push_back(k);
  }
  for (const auto& p : plan.collectives)
    if (!PointDone(done, p)) r.collectives.push_back(p);
  for (const auto& i : plan.interference)
    if (!InterferenceDone(done, i)) r.interference.push_back(i);
  return r;
}

CostDb LoadForResume(const std::string& path) {
  CostDb db;
  if (std::filesystem::exists(path)) db = CostDb::Load(path);
  auto replay = Journal::Replay(path + ".journal", db);
  if (replay.applied > 0) LogInfo("resumed " + std::to_string(replay.applied) + " measurements from " + path + ".journal");
  for (const auto& k : replay.crashed)
    LogWarn("the previous run crashed while measuring " + k + "; recorded as error (--retry-errors to measure it again)");
  for (const auto& k : replay.preempted)
    LogInfo("the previous run was stopped while measuring " + k + "; measuring it again");
  for (const auto& k : replay.vanished)
    LogWarn("the previous run ended without a trace (kill -9, out of memory?) while measuring " + k +
            "; measuring it again");
  return db;
}

// MPI ranks other than 0 take part in the collectives and write nothing.
RunSummary FollowPlan(const Plan& plan, Backend& backend, const RunOptions& opt) {
  RunSummary sum;
  std::set<std::string> rejected;
  for (const auto& p : plan.collectives) {
    if (rejected.count(p.key.ToString())) continue;
    if (backend.MeasureCollective(p)) ++sum.points_measured;
    else rejected.insert(p.key.ToString());
  }
  return sum;
}

RunSummary RunPlan(const Plan& plan, const NodeProbe& probe, Backend& backend, const RunOptions& opt) {
  if (!probe.leader) return FollowPlan(plan, backend, opt);
  RunSummary sum;
  OutputLock lock(opt.output);  // before the journal is read: another run may be appending to it
  CostDb db = LoadForResume(opt.output);
  StampHeader(db, probe, opt);
  Plan todo = Remaining(plan, db, opt.retry_errors);
  // Across nodes every rank must run the same collectives, and only rank 0 sees the database:
  // multi-node curves are measured in full each run (docs/profiler.md).
  if (probe.nodes > 1) todo.collectives = plan.collectives;
  sum.ops_skipped = static_cast<int>(plan.ops.size() - todo.ops.size());
  sum.points_skipped = static_cast<int>(plan.collectives.size() - todo.collectives.size());
  if (sum.ops_skipped + sum.points_skipped > 0)
    LogInfo("resuming " + opt.output + ": " + std::to_string(sum.ops_skipped) + " ops and " +
            std::to_string(sum.points_skipped) + " collective points already measured");
  Recorder rec(db, opt);
  rec.Save();  // the header, and a valid file from the first second on
  NodeDesc node{PresetForDevice(probe.device), probe.gpus, probe.nodes};
  PlanEstimate est = EstimatePlan(todo, node);
  Progress bar("ms of estimated work", static_cast<int64_t>(est.total() * 1e3) + 1);
  auto advance = [&](double s, const std::string& item) { bar.Advance(static_cast<int64_t>(s * 1e3), item); };

  if (todo.topology) {
    rec.Topology(backend.DumpTopology());
    advance(est.topology_s, "topology");
  }
  for (const auto& k : todo.ops) {
    rec.InFlight(k);
    OpEntry e;
    try {
      e = backend.MeasureOp(k);
    } catch (const DeviceError& err) {
      e = OpEntry{k, "error", {}, {std::string("device fault: ") + err.what()}};
      rec.Op(e);
      throw DeviceError(std::string(err.what()) + " (while measuring " + k.ToString() + "; recorded as error, " +
                        "the database is saved: rerun the same command to resume)");
    }
    (e.status == "ok" ? sum.ops_measured : e.status == "oom" ? sum.ops_oom : sum.ops_error)++;
    rec.Op(std::move(e));
    advance(EstimateOpMeasurementSeconds(k, node.device), k.ToString());
  }
  std::set<std::string> rejected;  // curve keys NCCL refused: skip their other sizes
  for (const auto& p : todo.collectives) {
    double call = EstimateCollectiveCallSeconds(p, node.device);
    double t = call * CollectivePolicy().TotalCalls(call);
    if (!rejected.count(p.key.ToString())) {
      auto point = backend.MeasureCollective(p);
      if (point) {
        rec.Point(p.key, *point);
        ++sum.points_measured;
      } else {
        rejected.insert(p.key.ToString());
        LogInfo("NCCL does not offer " + p.key.algo + "/" + p.key.proto + " for " + p.key.op + " on " +
                std::to_string(p.key.ranks) + " ranks here; skipped");
      }
    }
    if (rejected.count(p.key.ToString())) ++sum.points_rejected;
    advance(t, p.key.ToString() + " " + std::to_string(p.bytes));
  }
  for (const auto& i : todo.interference) {
    rec.Interference(backend.MeasureInterference(i));
    ++sum.interference_measured;
    advance(est.interference_s / double(todo.interference.size()), i.compute_class + " x " + i.comm.op);
  }
  bar.Finish();
  rec.Save();
  std::error_code ec;
  std::filesystem::remove(opt.output + ".journal", ec);
  return sum;
}

}  // namespace proteus::profiler
