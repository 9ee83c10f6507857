#include "common/json_file.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_text.h"
#include "common/output_file.h"

namespace proteus {

// Through common/input_file.h: a regular file or "-", at most the size cap of a document.
std::string ReadTextFile(const std::string& path) { return ReadInputFile(path, InputKind::kDocument); }

namespace {

// The deepest nesting of arrays and objects a JSON input may have. Real documents nest under 30
// levels (a module tree two per module level); the bound keeps every recursive walk over a parsed
// document (readers, dump) far from the end of the stack.
constexpr int kMaxJsonDepth = 256;

// Refuses text nesting deeper than kMaxJsonDepth, before parsing, with the line where the limit is
// crossed. A scan of brackets outside strings: exact for valid JSON, and malformed text is refused
// either here or by the parser.
void CheckJsonDepth(std::string_view text, const std::string& origin) {
  int depth = 0;
  size_t line = 1;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (c == '\n') ++line;
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw UserError(origin, "line " + std::to_string(line) + ": nested deeper than " +
                                    std::to_string(kMaxJsonDepth) + " levels of arrays and objects");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace

Json ParseJson(std::string_view text, const std::string& origin) {
  CheckJsonDepth(text, origin);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // nlohmann reports a byte offset; turn it into a line number people can find.
    size_t line = 1;
    for (size_t i = 0; i < e.byte && i < text.size(); ++i) line += text[i] == '\n';
    std::string msg = e.what();
    auto pos = msg.find("syntax error");
    throw UserError(origin, "malformed JSON at line " + std::to_string(line) + ": " +
                                (pos == std::string::npos ? msg : msg.substr(pos)));
  } catch (const Json::exception& e) {
    // Not a syntax error but still bad input, e.g. a number out of range ("1e400").
    throw UserError(origin, std::string("malformed JSON: ") + e.what());
  }
}

Json ReadJsonFile(const std::string& path) { return ParseJson(ReadTextFile(path), path); }

void WriteFileAtomic(const std::string& path, std::string_view content) { WriteOutputFile(path, content); }

void WriteJsonFile(const std::string& path, const Json& doc) { WriteFileAtomic(path, JsonText(doc) + "\n"); }

// ---- JsonView ----

std::string JsonView::Where() const { return path_.empty() ? file_ : file_ + ": " + path_; }

std::string JsonView::WhereField(std::string_view key) const {
  std::string p = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return file_ + ": " + p;
}

void JsonView::Fail(const std::string& what) const { throw UserError(Where(), what); }
void JsonView::FailField(std::string_view key, const std::string& what) const {
  throw UserError(WhereField(key), what);
}

bool JsonView::Has(std::string_view key) const {
  return value_->is_object() && value_->contains(std::string(key));
}

size_t JsonView::Size() const {
  if (!value_->is_array()) Fail("expected an array");
  return value_->size();
}

JsonView JsonView::At(std::string_view key) const {
  if (!value_->is_object()) Fail("expected an object");
  auto it = value_->find(std::string(key));
  if (it == value_->end()) FailField(key, "missing required field");
  return JsonView(*it, file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonView JsonView::At(size_t index) const {
  if (!value_->is_array()) Fail("expected an array");
  if (index >= value_->size()) Fail("index " + std::to_string(index) + " out of range");
  return JsonView((*value_)[index], file_, path_ + "[" + std::to_string(index) + "]");
}

std::optional<JsonView> JsonView::Find(std::string_view key) const {
  if (!Has(key)) return std::nullopt;
  return At(key);
}

std::string JsonView::AsStr() const {
  if (!value_->is_string()) Fail("expected a string");
  return value_->get<std::string>();
}

int64_t JsonView::AsInt() const {
  if (value_->is_number_integer()) return value_->get<int64_t>();
  if (value_->is_number_float()) {
    double d = value_->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  Fail("expected an integer");
}

double JsonView::AsNum() const {
  if (!value_->is_number()) Fail("expected a number");
  double d = value_->get<double>();
  if (!std::isfinite(d)) Fail("expected a finite number");
  return d;
}

std::string JsonView::Str(std::string_view key) const { return At(key).AsStr(); }
int64_t JsonView::Int(std::string_view key) const { return At(key).AsInt(); }
double JsonView::Num(std::string_view key) const { return At(key).AsNum(); }
bool JsonView::Bool(std::string_view key) const {
  JsonView v = At(key);
  if (!v.raw().is_boolean()) v.Fail("expected true or false");
  return v.raw().get<bool>();
}
std::string JsonView::StrOr(std::string_view key, std::string fallback) const {
  return Has(key) ? Str(key) : fallback;
}
int64_t JsonView::IntOr(std::string_view key, int64_t fallback) const { return Has(key) ? Int(key) : fallback; }
double JsonView::NumOr(std::string_view key, double fallback) const { return Has(key) ? Num(key) : fallback; }
bool JsonView::BoolOr(std::string_view key, bool fallback) const { return Has(key) ? Bool(key) : fallback; }

int64_t JsonView::PositiveInt(std::string_view key) const {
  int64_t v = Int(key);
  if (v <= 0) FailField(key, "must be a positive integer, got " + std::to_string(v));
  return v;
}
int64_t JsonView::PositiveIntOr(std::string_view key, int64_t fallback) const {
  return Has(key) ? PositiveInt(key) : fallback;
}

int JsonView::RequireFormat(std::string_view kind, int max_major) const {
  if (!value_->is_object()) Fail("expected a JSON object with \"format\": \"" + std::string(kind) + "/1\"");
  std::string f = Str("format");
  std::string prefix = std::string(kind) + "/";
  if (f.rfind(prefix, 0) != 0)
    FailField("format", "expected \"" + prefix + "<major>\", got \"" + f + "\"");
  std::string major = f.substr(prefix.size());
  int m = 0;
  try {
    size_t used = 0;
    m = std::stoi(major, &used);
    if (used != major.size() || m <= 0) throw std::invalid_argument("");
  } catch (const std::exception&) {
    FailField("format", "bad version \"" + major + "\"");
  }
  if (m > max_major)
    FailField("format", "version " + std::to_string(m) + " is newer than this build reads (up to " +
                            std::to_string(max_major) + "); upgrade proteus");
  return m;
}

void JsonView::RejectUnknownKeys(const std::vector<std::string_view>& allowed) const {
  if (!value_->is_object()) Fail("expected an object");
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == it.key();
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      FailField(it.key(), "unknown field (expected one of: " + list + ")");
    }
  }
}

}  // namespace proteus
