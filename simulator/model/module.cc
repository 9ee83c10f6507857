#include "simulator/model/module.h"

namespace proteus {

int64_t Module::Params() const {
  int64_t n = 0;
  for (const auto& op : ops) n += op.WeightParams();
  for (const auto& c : children) n += c.Params();
  return n;
}

double Module::ForwardFlops() const {
  double f = 0;
  for (const auto& op : ops) f += op.ForwardFlops();
  for (const auto& c : children) f += c.ForwardFlops();
  return f;
}

std::string JoinPath(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

namespace {
void Visit(const Module& m, const std::string& path,
           const std::function<void(const std::string&, const Module&)>& fn) {
  fn(path, m);
  for (const auto& c : m.children) Visit(c, JoinPath(path, c.name), fn);
}
}  // namespace

void VisitModules(const Module& root, const std::function<void(const std::string&, const Module&)>& fn) {
  Visit(root, "", fn);
}

}  // namespace proteus
