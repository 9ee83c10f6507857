#include "simulator/model/module.h"

#include <set>
#include <string_view>

namespace proteus {

int64_t Module::Params() const {
  // Shared weights (tied embeddings) appear in several ops under one name: count each name once.
  std::set<std::string> seen;
  int64_t n = 0;
  VisitOps(*this, [&](const std::string&, const Operator& op) {
    for (const auto& t : op.tensors)
      if (t.role == TensorRole::kWeight && seen.insert(t.name).second) n += op.TensorElements(t);
  });
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

namespace proteus {
namespace {
void VisitOpsIn(const Module& m, const std::string& path,
                const std::function<void(const std::string&, const Operator&)>& fn) {
  for (const auto& op : m.ops) fn(JoinPath(path, op.name), op);
  for (const auto& c : m.children) VisitOpsIn(c, JoinPath(path, c.name), fn);
}
}  // namespace

void VisitOps(const Module& root, const std::function<void(const std::string&, const Operator&)>& fn) {
  VisitOpsIn(root, "", fn);
}

const Module* FindModule(const Module& root, const std::string& path) {
  const Module* m = &root;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t dot = path.find('.', pos);
    std::string_view part(path.data() + pos, (dot == std::string::npos ? path.size() : dot) - pos);
    const Module* next = nullptr;
    for (const auto& c : m->children)
      if (c.name == part) next = &c;
    if (!next) return nullptr;
    m = next;
    pos = dot == std::string::npos ? path.size() : dot + 1;
  }
  return m;
}

int64_t SavedActivationBytes(const Module& m) {
  std::set<std::string> seen;
  int64_t total = 0;
  VisitOps(m, [&](const std::string&, const Operator& op) {
    for (const auto& st : op.saved) {
      if (!seen.insert(st.name).second) continue;
      int64_t n = st.bytes_per_element;
      for (const auto& axis : st.axes) {
        const Dim* d = op.FindDim(axis);
        n *= d ? d->size : 1;
      }
      total += n;
    }
  });
  return total;
}

}  // namespace proteus
