#include "profiler/journal.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "common/log.h"
#include "common/manifest.h"

namespace proteus::profiler {

namespace {
// Entry by entry, not CostDb::Overlay: a long journal on a large database must replay in linear time.
void ApplyFragment(const CostDb& frag, CostDb& db) {
  for (const auto& [k, e] : frag.ops()) db.PutOp(e);
  for (const auto& c : frag.curves()) db.PutCurve(c);
  for (const auto& i : frag.interference) {
    auto it = std::find_if(db.interference.begin(), db.interference.end(), [&](const InterferenceEntry& j) {
      return j.compute_class == i.compute_class && j.collective == i.collective;
    });
    if (it != db.interference.end()) *it = i;
    else db.interference.push_back(i);
  }
  if (!frag.topology_xml.empty()) db.topology_xml = frag.topology_xml;
}
}  // namespace

Journal::Journal(std::string path) : path_(std::move(path)), out_(path_, std::ios::app) {
  if (!out_) throw UserError(path_, "cannot open the measurement journal for writing");
}

void Journal::Line(const std::string& text) {
  out_ << text << '\n';
  out_.flush();  // the line reaches the OS before the next (possibly fatal) GPU call
  if (!out_) throw UserError(path_, "cannot append to the measurement journal (disk full?)");
}

void Journal::AppendInFlight(const OpKey& key) { Line(Json{{"in_flight", OpKeyToJson(key)}}.dump()); }

void Journal::Append(const CostDb& fragment) { Line(fragment.ToJson().dump()); }

Journal::ReplayResult Journal::Replay(const std::string& path, CostDb& db) {
  ReplayResult r;
  if (!std::filesystem::exists(path)) return r;
  std::ifstream in(path);
  std::string line;
  std::map<std::string, OpKey> pending;  // in flight, no result yet
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::string where = path + ": line " + std::to_string(line_no);
    Json doc = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {  // a write torn by the crash
      LogWarn(where + ": ignoring an incomplete journal line");
      continue;
    }
    try {
      if (doc.contains("in_flight")) {
        OpKey k = OpKeyFromJson(JsonView(doc["in_flight"], where, "in_flight"));
        pending[k.ToString()] = k;
        continue;
      }
      CostDb frag = CostDb::FromJson(doc, where);
      for (const auto& [k, e] : frag.ops()) pending.erase(k);
      r.applied += static_cast<int>(frag.ops().size() + frag.curves().size() + frag.interference.size() +
                                    (frag.topology_xml.empty() ? 0 : 1));
      ApplyFragment(frag, db);
    } catch (const UserError& e) {
      LogWarn(std::string("ignoring a bad journal line: ") + e.what());
    }
  }
  for (const auto& [s, k] : pending) {
    OpEntry e;
    e.key = k;
    e.status = "error";
    e.kernels = {"(the profiler process died while measuring this op)"};
    db.PutOp(e);
    r.crashed.push_back(s);
  }
  return r;
}

}  // namespace proteus::profiler
