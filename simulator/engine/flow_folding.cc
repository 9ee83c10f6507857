#include "simulator/engine/flow_folding.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_map>

#include "common/error.h"
#include "simulator/engine/maxmin.h"

namespace proteus {
namespace {

// Dense colours for signatures, numbered in order of first appearance (so the colouring depends
// only on the order elements are visited, never on hashing). Signatures are kept in one flat store
// and compared in full on a hash match: no two different signatures ever share a colour.
class Palette {
 public:
  int32_t Colour(const std::vector<int64_t>& signature) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ signature.size();
    for (int64_t v : signature) h = (h ^ static_cast<uint64_t>(v)) * 0x100000001b3ull + (h >> 29);
    auto [it, fresh] = first_.try_emplace(h, -1);
    for (int32_t c = it->second; c >= 0; c = next_[c])
      if (std::equal(signature.begin(), signature.end(), store_.begin() + begin_[c], store_.begin() + begin_[c + 1]))
        return c;
    int32_t c = Size();
    next_.push_back(it->second);
    it->second = c;
    store_.insert(store_.end(), signature.begin(), signature.end());
    begin_.push_back(static_cast<int64_t>(store_.size()));
    return c;
  }
  int32_t Size() const { return static_cast<int32_t>(next_.size()); }

 private:
  std::unordered_map<uint64_t, int32_t> first_;  // hash -> newest colour with it (chained by next_)
  std::vector<int32_t> next_;                    // per colour: older colour with the same hash
  std::vector<int64_t> store_;                   // signatures, back to back
  std::vector<int64_t> begin_{0};                // per colour: its signature's start in store_
};

int64_t Bits(double x) { return std::bit_cast<int64_t>(x); }

// The flow/link incidence of the distinct plans, in compressed rows both ways.
struct Incidence {
  std::vector<int32_t> flow_plan;                 // per flow: its distinct plan
  std::vector<const FlowSpec*> flow_spec;         // per flow
  std::vector<int32_t> flow_begin, flow_links;    // flow f uses dense links flow_links[flow_begin[f]..)
  std::vector<int32_t> link_begin, link_flows;    // dense link l is used by link_flows[link_begin[l]..)
  std::vector<LinkId> link_id;                    // dense link -> graph link, increasing
};

double Cap(const FlowSpec& f) { return std::isfinite(f.max_rate) && f.max_rate > 0 ? f.max_rate : kUnbounded; }

Incidence BuildIncidence(const ExecGraph& g, const std::vector<const CollectivePlan*>& plans) {
  Incidence in;
  std::vector<int32_t> dense(g.link_capacity.size(), -1);
  for (size_t p = 0; p < plans.size(); ++p)
    for (const FlowSpec& f : plans[p]->flows)
      if (f.bytes > 0)
        for (LinkId l : f.links) dense[l] = 0;
  for (size_t l = 0; l < dense.size(); ++l)
    if (dense[l] == 0) {
      dense[l] = static_cast<int32_t>(in.link_id.size());
      in.link_id.push_back(static_cast<LinkId>(l));
    }
  std::vector<int32_t> uses_of_link(in.link_id.size() + 1, 0);
  in.flow_begin.push_back(0);
  for (size_t p = 0; p < plans.size(); ++p) {
    for (const FlowSpec& f : plans[p]->flows) {
      if (f.bytes <= 0) continue;
      in.flow_plan.push_back(static_cast<int32_t>(p));
      in.flow_spec.push_back(&f);
      for (LinkId l : f.links) {
        in.flow_links.push_back(dense[l]);
        ++uses_of_link[dense[l] + 1];
      }
      in.flow_begin.push_back(static_cast<int32_t>(in.flow_links.size()));
    }
  }
  for (size_t l = 1; l < uses_of_link.size(); ++l) uses_of_link[l] += uses_of_link[l - 1];
  in.link_begin = uses_of_link;
  in.link_flows.resize(in.flow_links.size());
  std::vector<int32_t> fill(uses_of_link.begin(), uses_of_link.end() - 1);
  for (size_t f = 0; f + 1 < in.flow_begin.size(); ++f)
    for (int32_t u = in.flow_begin[f]; u < in.flow_begin[f + 1]; ++u) in.link_flows[fill[in.flow_links[u]]++] = static_cast<int32_t>(f);
  return in;
}

// One refinement step of one side: colour = (old colour, sorted colours of its neighbours).
int32_t Refine(const std::vector<int32_t>& begin, const std::vector<int32_t>& neighbours,
               const std::vector<int32_t>& neighbour_colour, std::vector<int32_t>& colour) {
  Palette palette;
  std::vector<int64_t> signature;
  for (size_t e = 0; e + 1 < begin.size(); ++e) {
    signature.clear();
    for (int32_t u = begin[e]; u < begin[e + 1]; ++u) signature.push_back(neighbour_colour[neighbours[u]]);
    std::sort(signature.begin(), signature.end());
    signature.push_back(colour[e]);  // last, so equal neighbourhoods of different classes stay apart
    colour[e] = palette.Colour(signature);
  }
  return palette.Size();
}

}  // namespace

FlowFolding FoldFlows(const ExecGraph& g, bool fold) {
  FlowFolding out;
  std::vector<const CollectivePlan*> plans;
  std::unordered_map<const CollectivePlan*, int32_t> plan_index;
  out.plan_of_comm.reserve(g.comms.size());
  for (const Comm& c : g.comms) {
    auto [it, fresh] = plan_index.try_emplace(c.plan.get(), static_cast<int32_t>(plans.size()));
    if (fresh) plans.push_back(c.plan.get());
    out.plan_of_comm.push_back(it->second);
  }
  Incidence in = BuildIncidence(g, plans);
  const size_t flows = in.flow_spec.size(), links = in.link_id.size();
  out.flows_in = static_cast<int64_t>(flows);
  out.links_in = static_cast<int64_t>(links);

  // Initial colours: flows by (plan, bytes, cap), links by capacity.
  std::vector<int32_t> flow_colour(flows), link_colour(links);
  {
    Palette p;
    for (size_t f = 0; f < flows; ++f)
      flow_colour[f] = p.Colour({in.flow_plan[f], Bits(in.flow_spec[f]->bytes), Bits(Cap(*in.flow_spec[f]))});
  }
  {
    Palette p;
    for (size_t l = 0; l < links; ++l) link_colour[l] = p.Colour({Bits(g.link_capacity[in.link_id[l]])});
  }
  // Refinement only splits classes: once neither side gains a class, the partition is stable. The
  // flow classes after any round bound the final count from below, so once they pass half the flows
  // folding cannot halve the solver's work; then, or if refinement has not settled after
  // kMaxRounds, every flow and link is left its own class (also equitable, so still exact).
  constexpr int kMaxRounds = 8;
  int32_t flow_classes = -1, link_classes = -1;
  bool folded = fold;
  while (folded) {
    int32_t lc = Refine(in.link_begin, in.link_flows, flow_colour, link_colour);
    int32_t fc = Refine(in.flow_begin, in.flow_links, link_colour, flow_colour);
    ++out.rounds;
    if (lc == link_classes && fc == flow_classes) break;
    link_classes = lc;
    flow_classes = fc;
    if (2 * static_cast<int64_t>(fc) > static_cast<int64_t>(flows) || out.rounds >= kMaxRounds) {
      folded = false;
      break;
    }
  }
  if (!folded) {
    for (size_t f = 0; f < flows; ++f) flow_colour[f] = static_cast<int32_t>(f);
    for (size_t l = 0; l < links; ++l) link_colour[l] = static_cast<int32_t>(l);
    flow_classes = static_cast<int32_t>(flows);
    link_classes = static_cast<int32_t>(links);
  }
  out.folded = folded;

  // Link classes numbered by their lowest link id, so an unfolded graph keeps the links' order.
  std::vector<int32_t> class_of_colour(link_classes, -1), link_class(links);
  for (size_t l = 0; l < links; ++l) {
    int32_t& c = class_of_colour[link_colour[l]];
    if (c < 0) {
      c = static_cast<int32_t>(out.capacity.size());
      out.capacity.push_back(g.link_capacity[in.link_id[l]]);
      out.class_size.push_back(0);
    }
    link_class[l] = c;
    ++out.class_size[c];
  }

  // Flow classes per plan, in the order of their first flow. Every flow of a class uses each link
  // class the same number of times u(F, A) (equitable), so the class's uses of A are |F| u(F, A)
  // and k(A, F) = |F| u(F, A) / |A|, counted on the class's first flow.
  out.plans.resize(plans.size());
  std::vector<int32_t> folded_of_colour(flow_classes, -1);
  size_t f = 0;
  for (size_t p = 0; p < plans.size(); ++p) {
    std::vector<FoldedFlow>& folded = out.plans[p];
    std::vector<std::vector<int64_t>> uses;  // per class of this plan: u(F, A) per route entry
    const size_t first = f;
    // Colours never span plans (the plan is in the initial colour): each is a class of this plan.
    for (; f < flows && in.flow_plan[f] == static_cast<int32_t>(p); ++f) {
      int32_t& k = folded_of_colour[flow_colour[f]];
      if (k < 0) {
        k = static_cast<int32_t>(folded.size());
        FoldedFlow rep;
        rep.bytes = in.flow_spec[f]->bytes;
        rep.max_rate = Cap(*in.flow_spec[f]);
        rep.flows = 0;
        std::vector<int64_t>& first_uses = uses.emplace_back();
        for (int32_t u = in.flow_begin[f]; u < in.flow_begin[f + 1]; ++u) {
          int32_t a = link_class[in.flow_links[u]];
          auto at = std::find(rep.route.begin(), rep.route.end(), a);
          if (at == rep.route.end()) {
            rep.route.push_back(a);
            first_uses.push_back(1);
          } else {
            ++first_uses[at - rep.route.begin()];
          }
        }
        folded.push_back(std::move(rep));
      }
      ++folded[k].flows;
    }
    for (size_t k = 0; k < folded.size(); ++k) {
      FoldedFlow& rep = folded[k];
      rep.weights.resize(rep.route.size());
      for (size_t i = 0; i < rep.route.size(); ++i) {
        int64_t total = rep.flows * uses[k][i], size = out.class_size[rep.route[i]];
        // Equitable: every link of A carries the same number of this class's flows.
        PROTEUS_CHECK(total % size == 0, "flow folding: the partition is not equitable");
        rep.weights[i] = static_cast<double>(total / size);
      }
    }
    for (size_t e = first; e < f; ++e) folded_of_colour[flow_colour[e]] = -1;
    out.flows_out += static_cast<int64_t>(folded.size());
  }
  return out;
}

}  // namespace proteus
