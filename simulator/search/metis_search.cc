#include "simulator/search/metis_search.h"

#include <algorithm>
#include <cmath>

namespace proteus {
namespace {

struct Partial {  // the fixed stages' cost terms
  double sum_len = 0, max_len = 0, pp = 0, dp = 0, update = 0;
};

struct Root {  // one (type order, micro-batches, stages) subtree
  std::vector<std::string> order;
  int batches = 0, stages = 0;
  double bound = 0;
};

class Searcher {
 public:
  Searcher(MetisCostModel& model, const MetisSearchOptions& options) : m_(model), o_(options) {
    gpus_ = m_.cluster().TotalGpus();
    layers_ = m_.profiles().num_layers;
  }

  MetisSearchResult Run() {
    // Every (order, b, S) with its optimistic cost, searched cheapest first, so that a good plan
    // is found early and the rest of the roots fall to the bound without being entered.
    std::vector<Root> roots;
    std::vector<std::string> order = m_.cluster().Types();
    std::sort(order.begin(), order.end());
    do {
      for (int b = m_.gbs(); b >= 1; --b) {
        if (m_.gbs() % b != 0 || !Prepare(b)) continue;
        for (int s = 1; s <= std::min(gpus_, layers_); ++s)
          if (PrepareStages(s)) roots.push_back({order, b, s, Bound(Partial{}, 0, s)});
      }
    } while (std::next_permutation(order.begin(), order.end()));
    std::stable_sort(roots.begin(), roots.end(), [](const Root& a, const Root& b) { return a.bound < b.bound; });
    for (const Root& root : roots) {
      if (!o_.exhaustive && root.bound >= Best()) {
        ++r_.cut_by_bound;
        continue;
      }
      m_.SetOrder(root.order);
      order_ = root.order;
      Prepare(root.batches);
      PrepareStages(root.stages);
      plan_.assign(root.stages, MetisStage{});
      Fix(0, 0, 0, Partial{});
    }
    return r_;
  }

 private:
  struct Child {
    MetisStage stage;
    Partial partial;
    double bound = 0;
  };

  // The cheapest profiled time of each layer at b micro-batches (any type, tp, bs <= gbs / b),
  // as suffix sums, and the smallest fb_sync; false when nothing is profiled for this b.
  bool Prepare(int b) {
    b_ = b;
    std::vector<double> cheapest(layers_, INFINITY);
    fb_min_ = INFINITY;
    for (const auto& [type, profiles] : m_.profiles().by_type)
      for (const auto& [key, p] : profiles)
        if (key.second <= m_.gbs() / b && key.second <= m_.max_bs() && key.first <= o_.max_tp) {
          for (int l = 0; l < layers_; ++l) cheapest[l] = std::min(cheapest[l], p.layer_ms[l]);
          fb_min_ = std::min(fb_min_, p.fb_sync_ms);
        }
    rest_.assign(layers_ + 1, 0);
    for (int l = layers_ - 1; l >= 0; --l) rest_[l] = rest_[l + 1] + cheapest[l];
    return std::isfinite(rest_[0]);
  }

  // The group sizes Metis allows at S stages (device_group.py: at least variance x GPUs / S).
  bool PrepareStages(int s) {
    stages_ = s;
    double floor = std::max(gpus_ / s, s / gpus_) * o_.variance;
    sizes_.clear();
    for (int g = 1; g <= gpus_; g *= 2)
      if (g >= floor) sizes_.push_back(g);
    return !sizes_.empty() && s * sizes_.front() <= gpus_ && s * sizes_.back() >= gpus_;
  }

  double Best() const { return r_.best ? r_.best_cost_ms : INFINITY; }

  // Optimistic cost of completing `fixed` with `left` stages over layers [layer, N).
  double Bound(const Partial& fixed, int layer, int left) const {
    double rest = rest_[layer];
    double max_len = std::max(fixed.max_len, left > 0 ? rest / left : 0.0);
    int rest_layers = layers_ - layer;
    double update = fixed.update;
    if (left > 0)  // some remaining stage holds at least ceil(rest / left) layers, at tp <= max_tp
      update = std::max(update, m_.profiles().optimizer_ms / o_.max_tp * ((rest_layers + left - 1) / left) / layers_);
    return (b_ - 1) * max_len + fixed.sum_len + rest + fixed.pp + fixed.dp + update + fb_min_ * b_ +
           b_ * m_.profiles().batch_generator_ms;
  }

  void Fix(int i, int rank, int layer, const Partial& fixed) {
    int left = stages_ - i - 1;  // stages after this one
    std::vector<Child> children;
    for (int g : sizes_) {
      int after = gpus_ - rank - g;
      if (after < left * sizes_.front() || after > left * sizes_.back()) continue;
      for (int tp = 1; tp <= std::min(g, o_.max_tp); tp *= 2) {
        int dp = g / tp, mbs = m_.gbs() / dp / b_;
        if (mbs < 1 || mbs > m_.max_bs()) continue;
        int max_l = layers_ - layer - left;
        for (int l = left == 0 ? max_l : 1; l <= max_l; ++l) Expand(i, rank, layer, fixed, MetisStage{g, dp, tp, l}, &children);
      }
    }
    if (left == 0) return;  // Expand priced each complete plan
    std::stable_sort(children.begin(), children.end(), [](const Child& a, const Child& b) { return a.bound < b.bound; });
    for (const Child& c : children) {
      if (!o_.exhaustive && c.bound >= Best()) {
        ++r_.cut_by_bound;
        continue;
      }
      plan_[i] = c.stage;
      Fix(i + 1, rank + c.stage.gpus, layer + c.stage.layers, c.partial);
    }
  }

  // Fixes stage i as `s`: a complete plan is priced at once (a step); a partial one joins `children`.
  void Expand(int i, int rank, int layer, const Partial& fixed, const MetisStage& s, std::vector<Child>* children) {
    int left = stages_ - i - 1;
    if (left == 0) ++r_.steps;
    else ++r_.partial_plans;
    auto fits = m_.StageFits(rank, s, layer, b_);
    auto len = m_.StageTime(rank, s, layer, b_);
    if (!fits || !*fits || !len) {
      ++r_.cut_by_memory;
      return;
    }
    Partial p = fixed;
    p.sum_len += *len, p.max_len = std::max(p.max_len, *len);
    p.dp = std::max(p.dp, m_.DpCost(rank, s, layer));
    p.update = std::max(p.update, m_.UpdateCost(s));
    if (i > 0) {
      const MetisStage& prev = plan_[i - 1];
      p.pp += m_.PpCost(rank - prev.gpus, prev, s.gpus, layer, b_);
    }
    if (left > 0) {
      children->push_back({s, p, Bound(p, layer + s.layers, left)});
      return;
    }
    auto fb = m_.FbSync(rank, s, b_);
    if (!fb) return;
    double cost = (b_ - 1) * p.max_len + p.sum_len + *fb + p.update + p.dp + p.pp + b_ * m_.profiles().batch_generator_ms;
    if (cost < Best()) {
      plan_[i] = s;
      r_.best = MetisPlan{order_, plan_, b_};
      r_.best_cost_ms = cost;
    }
  }

  MetisCostModel& m_;
  MetisSearchOptions o_;
  int gpus_ = 0, layers_ = 0, b_ = 0, stages_ = 0;
  double fb_min_ = 0;
  std::vector<double> rest_;
  std::vector<int> sizes_;
  std::vector<std::string> order_;
  std::vector<MetisStage> plan_;
  MetisSearchResult r_;
};

}  // namespace

MetisSearchResult SearchMetisPlans(MetisCostModel& model, const MetisSearchOptions& options) {
  return Searcher(model, options).Run();
}

}  // namespace proteus
