#include "common/costdb.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_text.h"
#include "common/manifest.h"
#include "common/output_file.h"
#include "common/stored_time.h"

namespace proteus {

std::string CollectiveKey::ToString() const {
  return op + "|r" + std::to_string(ranks) + "|n" + std::to_string(nodes) + "|rpn" +
         std::to_string(ranks_per_node) + "|" + algo + "|" + proto + "|" + std::string(DTypeName(dtype));
}

void CostDb::PutOp(OpEntry entry) {
  std::string k = entry.key.ToString();
  if (!ops_.count(k)) families_[entry.key.FamilyString()].push_back(k);
  ops_[k] = std::move(entry);
}

const OpEntry* CostDb::FindOp(const OpKey& key) const {
  auto it = ops_.find(key.ToString());
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<const OpEntry*> CostDb::Family(const OpKey& key) const {
  std::vector<const OpEntry*> out;
  auto it = families_.find(key.FamilyString());
  if (it == families_.end()) return out;
  for (const auto& k : it->second) {
    const OpEntry& e = ops_.at(k);
    if (e.status == "ok") out.push_back(&e);
  }
  return out;
}

void CostDb::PutCurve(CollectiveCurve curve) {
  auto by_bytes = [](const CurvePoint& a, const CurvePoint& b) { return a.bytes < b.bytes; };
  for (auto& c : curves_) {
    if (!(c.key == curve.key)) continue;
    for (const auto& p : curve.points) {
      auto it = std::find_if(c.points.begin(), c.points.end(), [&](auto& q) { return q.bytes == p.bytes; });
      if (it != c.points.end()) *it = p;
      else c.points.push_back(p);
    }
    std::sort(c.points.begin(), c.points.end(), by_bytes);
    return;
  }
  std::sort(curve.points.begin(), curve.points.end(), by_bytes);
  curves_.push_back(std::move(curve));
}

const CollectiveCurve* CostDb::FindCurve(const CollectiveKey& key) const {
  for (const auto& c : curves_)
    if (c.key == key) return &c;
  return nullptr;
}

const Calibration* CostDb::FindCalibration(const std::string& gpu) const {
  for (const auto& c : calibrations)
    if (c.gpu == gpu) return &c;
  return nullptr;
}

CostDb CostDb::Overlay(const CostDb& lower) const {
  CostDb out = lower;
  if (!device.name.empty()) out.device = device;
  if (!software.driver.empty() || !software.cuda.empty()) out.software = software;
  if (!host.empty()) out.host = host;
  if (!date.empty()) out.date = date;
  if (!profiler_version.empty()) out.profiler_version = profiler_version;
  out.projected_from = projected_from;
  if (!topology_xml.empty()) out.topology_xml = topology_xml;
  for (const auto& [k, e] : ops_) out.PutOp(e);
  for (const auto& c : curves_) out.PutCurve(c);
  for (const auto& i : interference) {
    auto it = std::find_if(out.interference.begin(), out.interference.end(), [&](auto& j) {
      return j.compute_class == i.compute_class && j.collective == i.collective;
    });
    if (it != out.interference.end()) *it = i;
    else out.interference.push_back(i);
  }
  for (const auto& c : calibrations) {
    auto it = std::find_if(out.calibrations.begin(), out.calibrations.end(), [&](auto& d) { return d.gpu == c.gpu; });
    if (it != out.calibrations.end()) *it = c;
    else out.calibrations.push_back(c);
  }
  return out;
}

// ---- JSON ----

namespace {

// An integer field stored as int: rejected when outside [lo, INT_MAX] instead of wrapping (a node
// count of 2^32 used to become 0 and divide by zero).
int IntField(const JsonView& v, std::string_view key, int64_t fallback, int64_t lo) {
  int64_t x = v.IntOr(key, fallback);
  if (x < lo || x > std::numeric_limits<int>::max())
    v.FailField(key, "must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(std::numeric_limits<int>::max()) + "], got " + std::to_string(x));
  return static_cast<int>(x);
}

Json StatsToJson(const TimeStats& t) {
  return {{"median_us", StoredMicrosFromSeconds(t.median_s)},
          {"p10_us", StoredMicrosFromSeconds(t.p10_s)},
          {"p90_us", StoredMicrosFromSeconds(t.p90_s)},
          {"count", t.count},
          {"method", t.method},
          {"wall_median_us", StoredMicrosFromSeconds(t.wall_median_s)}};
}

TimeStats StatsFromJson(const JsonView& v) {
  TimeStats t;
  t.median_s = SecondsFromStoredMicros(v.Num("median_us"));
  t.p10_s = SecondsFromStoredMicros(v.NumOr("p10_us", v.Num("median_us")));
  t.p90_s = SecondsFromStoredMicros(v.NumOr("p90_us", v.Num("median_us")));
  t.count = IntField(v, "count", 1, 0);
  t.method = v.StrOr("method", "");
  t.wall_median_s = SecondsFromStoredMicros(v.NumOr("wall_median_us", 0));
  if (t.median_s < 0) v.FailField("median_us", "must not be negative");
  return t;
}

DType DTypeField(const JsonView& v, std::string_view key) {
  auto d = ParseDType(v.Str(key));
  if (!d) v.FailField(key, "unknown dtype \"" + v.Str(key) + "\"");
  return *d;
}

OpEntry OpFromJson(const JsonView& v) {
  OpEntry e;
  e.key = OpKeyFromJson(v);
  e.status = v.StrOr("status", "ok");
  if (e.status != "ok" && e.status != "oom" && e.status != "error")
    v.FailField("status", "expected ok, oom or error");
  if (e.status == "ok") e.time = StatsFromJson(v.At("time"));
  if (auto ks = v.Find("kernels"))
    for (size_t i = 0; i < ks->Size(); ++i) e.kernels.push_back(ks->At(i).AsStr());
  e.source = v.StrOr("source", "");
  return e;
}

Json OpToJson(const OpEntry& e) {
  Json j = OpKeyToJson(e.key);
  j["status"] = e.status;
  if (e.status == "ok") j["time"] = StatsToJson(e.time);
  if (!e.kernels.empty()) j["kernels"] = e.kernels;
  if (!e.source.empty()) j["source"] = e.source;
  return j;
}

CollectiveCurve CurveFromJson(const JsonView& v) {
  CollectiveCurve c;
  c.key.op = v.Str("op");
  (void)v.PositiveInt("ranks");  // required
  c.key.ranks = IntField(v, "ranks", 1, 1);
  c.key.nodes = IntField(v, "nodes", 1, 1);
  c.key.ranks_per_node = IntField(v, "ranks_per_node", std::max(1, c.key.ranks / c.key.nodes), 1);
  c.key.algo = v.StrOr("algo", "default");
  c.key.proto = v.StrOr("proto", "default");
  c.key.dtype = v.Has("dtype") ? DTypeField(v, "dtype") : DType::kBf16;
  JsonView pts = v.At("points");
  for (size_t i = 0; i < pts.Size(); ++i) {
    JsonView p = pts.At(i);
    CurvePoint cp;
    cp.bytes = p.Int("bytes");
    if (cp.bytes < 0) p.FailField("bytes", "must not be negative");
    double time_us = p.Num("time_us");
    cp.time_s = SecondsFromStoredMicros(time_us);
    if (cp.time_s < 0) p.FailField("time_us", "must not be negative");
    cp.p10_s = SecondsFromStoredMicros(p.NumOr("p10_us", time_us));
    cp.p90_s = SecondsFromStoredMicros(p.NumOr("p90_us", time_us));
    c.points.push_back(cp);
  }
  return c;
}

Json CurveToJson(const CollectiveCurve& c) {
  Json pts = Json::array();
  for (const auto& p : c.points)
    pts.push_back({{"bytes", p.bytes},
                   {"time_us", StoredMicrosFromSeconds(p.time_s)},
                   {"p10_us", StoredMicrosFromSeconds(p.p10_s)},
                   {"p90_us", StoredMicrosFromSeconds(p.p90_s)}});
  return {{"op", c.key.op}, {"ranks", c.key.ranks}, {"nodes", c.key.nodes},
          {"ranks_per_node", c.key.ranks_per_node}, {"algo", c.key.algo}, {"proto", c.key.proto},
          {"dtype", DTypeName(c.key.dtype)}, {"points", pts}};
}

Json CalibrationToJson(const Calibration& c) {
  Json params = Json::object();
  for (const auto& [name, p] : c.params)
    params[name] = {{"value", p.value}, {"stderr", p.stderr_value}, {"at_bound", p.at_bound}};
  return {{"gpu", c.gpu}, {"params", params}, {"provenance", c.provenance}};
}

Calibration CalibrationFromJson(const JsonView& v) {
  Calibration c;
  c.gpu = v.Str("gpu");
  if (c.gpu.empty()) v.FailField("gpu", "must name a GPU type");
  JsonView params = v.At("params");
  if (!params.IsObject()) params.Fail("expected an object {name: {value, stderr, at_bound}}");
  for (auto it = params.raw().begin(); it != params.raw().end(); ++it) {
    JsonView p = params.At(it.key());
    CalibratedParam cp;
    cp.value = p.Num("value");
    cp.stderr_value = p.NumOr("stderr", 0);
    if (!std::isfinite(cp.value)) p.FailField("value", "must be a finite number");
    if (!std::isfinite(cp.stderr_value) || cp.stderr_value < 0) p.FailField("stderr", "must be a finite number >= 0");
    cp.at_bound = p.BoolOr("at_bound", false);
    c.params[it.key()] = cp;
  }
  if (auto prov = v.Find("provenance")) {
    if (!prov->IsObject()) prov->Fail("expected an object");
    c.provenance = prov->raw();
  }
  return c;
}

}  // namespace

Json CostDb::ToJson() const {
  Json j;
  j["format"] = "proteus.costdb/" + std::to_string(kCostDbMajor);
  j["device"] = {{"name", device.name}, {"sm_count", device.sm_count},
                 {"compute_capability", std::to_string(device.cc_major) + "." + std::to_string(device.cc_minor)},
                 {"memory_bytes", device.memory_bytes}, {"sm_clock_mhz", device.sm_clock_mhz},
                 {"mem_clock_mhz", device.mem_clock_mhz}, {"l2_bytes", device.l2_bytes}};
  j["software"] = {{"driver", software.driver}, {"cuda", software.cuda}, {"cublas", software.cublas},
                   {"cudnn", software.cudnn}, {"nccl", software.nccl}};
  j["host"] = host;
  j["date"] = date;
  j["profiler_version"] = profiler_version;
  if (!projected_from.empty()) j["projected_from"] = projected_from;
  Json ops = Json::array();
  for (const auto& [k, e] : ops_) ops.push_back(OpToJson(e));
  j["ops"] = ops;
  Json curves = Json::array();
  for (const auto& c : curves_) curves.push_back(CurveToJson(c));
  j["collectives"] = curves;
  Json inter = Json::array();
  for (const auto& i : interference)
    inter.push_back({{"compute_class", i.compute_class}, {"collective", i.collective},
                     {"compute_slowdown", i.compute_slowdown}, {"comm_slowdown", i.comm_slowdown}});
  j["interference"] = inter;
  if (!calibrations.empty()) {
    Json cal = Json::array();
    for (const auto& c : calibrations) cal.push_back(CalibrationToJson(c));
    j["calibration"] = cal;
  }
  j["topology_xml"] = topology_xml;
  return j;
}

CostDb CostDb::FromJson(const Json& doc, const std::string& origin) {
  JsonView root(doc, origin);
  root.RequireFormat("proteus.costdb", kCostDbMajor);
  CostDb db;
  if (auto d = root.Find("device")) {
    db.device.name = d->StrOr("name", "");
    db.device.sm_count = IntField(*d, "sm_count", 0, 0);
    std::string cc = d->StrOr("compute_capability", "0.0");
    auto dot = cc.find('.');
    try {
      db.device.cc_major = std::stoi(cc.substr(0, dot));
      db.device.cc_minor = dot == std::string::npos ? 0 : std::stoi(cc.substr(dot + 1));
    } catch (const std::exception&) {
      d->FailField("compute_capability", "expected \"<major>.<minor>\", got \"" + cc + "\"");
    }
    db.device.memory_bytes = d->IntOr("memory_bytes", 0);
    db.device.sm_clock_mhz = d->NumOr("sm_clock_mhz", 0);
    db.device.mem_clock_mhz = d->NumOr("mem_clock_mhz", 0);
    db.device.l2_bytes = d->IntOr("l2_bytes", 0);
  }
  if (auto s = root.Find("software")) {
    db.software = {s->StrOr("driver", ""), s->StrOr("cuda", ""), s->StrOr("cublas", ""),
                   s->StrOr("cudnn", ""), s->StrOr("nccl", "")};
  }
  db.host = root.StrOr("host", "");
  db.date = root.StrOr("date", "");
  db.profiler_version = root.StrOr("profiler_version", "");
  db.projected_from = root.StrOr("projected_from", "");
  db.topology_xml = root.StrOr("topology_xml", "");
  if (auto ops = root.Find("ops"))
    for (size_t i = 0; i < ops->Size(); ++i) db.PutOp(OpFromJson(ops->At(i)));
  if (auto cs = root.Find("collectives"))
    for (size_t i = 0; i < cs->Size(); ++i) db.PutCurve(CurveFromJson(cs->At(i)));
  if (auto in = root.Find("interference")) {
    for (size_t i = 0; i < in->Size(); ++i) {
      JsonView v = in->At(i);
      InterferenceEntry e{v.Str("compute_class"), v.Str("collective"), v.Num("compute_slowdown"),
                          v.Num("comm_slowdown")};
      if (e.compute_slowdown <= 0) v.FailField("compute_slowdown", "must be positive");
      if (e.comm_slowdown <= 0) v.FailField("comm_slowdown", "must be positive");
      db.interference.push_back(e);
    }
  }
  if (auto cal = root.Find("calibration")) {
    for (size_t i = 0; i < cal->Size(); ++i) {
      Calibration c = CalibrationFromJson(cal->At(i));
      if (db.FindCalibration(c.gpu)) cal->At(i).FailField("gpu", "a second calibration for " + c.gpu);
      db.calibrations.push_back(std::move(c));
    }
  }
  return db;
}

CostDb CostDb::Load(const std::string& path) { return FromJson(ParseJson(ReadInputFile(path, InputKind::kDatabase), path), path); }

// A database is hours of GPU time: it reaches the disk before the call returns.
void CostDb::Save(const std::string& path) const {
  WriteOutputFile(path, JsonText(ToJson()) + "\n", Durability::kFsync);
}

}  // namespace proteus
