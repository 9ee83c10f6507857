// JSON files with errors that name the file and the field.
//
//   auto doc = ReadJsonFile("cluster.json");          // UserError "cluster.json: line 3: ..." if malformed
//   JsonView root(doc, "cluster.json");
//   root.RequireFormat("proteus.cluster", 1);        // rejects other kinds and unknown majors
//   int64_t n = root.At("node_groups").At(0).Int("count");   // "cluster.json: node_groups[0].count: ..."
//
// Files are written atomically: to a temporary file beside the target, then renamed over it, so a
// reader never sees half a file and a crash leaves the old file intact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace proteus {

using Json = nlohmann::json;

/// Reads and parses a JSON file. Throws UserError naming the file (and line) when unreadable/malformed.
Json ReadJsonFile(const std::string& path);
/// Parses JSON text; `origin` names it in errors (a file name, "--strategy", ...).
Json ParseJson(std::string_view text, const std::string& origin);
/// Reads a whole file; UserError if it cannot be read.
std::string ReadTextFile(const std::string& path);
/// Writes `content` to `path` atomically (temp file + rename), or directly to a stream ("-", a device,
/// a FIFO); common/output_file.h says which. UserError if the path cannot be written.
void WriteFileAtomic(const std::string& path, std::string_view content);
/// Writes JSON (2-space indent) atomically.
void WriteJsonFile(const std::string& path, const Json& doc);

/// A read-only view of a JSON value that knows its file and its path inside the file, so every
/// accessor can throw a UserError such as "model.json: layers[2].hidden: expected an integer".
class JsonView {
 public:
  JsonView(const Json& value, std::string file, std::string path = "")
      : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

  const Json& raw() const { return *value_; }
  const std::string& file() const { return file_; }
  /// "file: path" for error messages.
  std::string Where() const;
  std::string WhereField(std::string_view key) const;
  [[noreturn]] void Fail(const std::string& what) const;
  [[noreturn]] void FailField(std::string_view key, const std::string& what) const;

  bool IsObject() const { return value_->is_object(); }
  bool IsArray() const { return value_->is_array(); }
  bool Has(std::string_view key) const;
  size_t Size() const;  // array length (UserError if not an array)

  JsonView At(std::string_view key) const;  // required member
  JsonView At(size_t index) const;          // array element
  std::optional<JsonView> Find(std::string_view key) const;

  std::string Str(std::string_view key) const;
  int64_t Int(std::string_view key) const;
  double Num(std::string_view key) const;
  bool Bool(std::string_view key) const;
  std::string StrOr(std::string_view key, std::string fallback) const;
  int64_t IntOr(std::string_view key, int64_t fallback) const;
  double NumOr(std::string_view key, double fallback) const;
  bool BoolOr(std::string_view key, bool fallback) const;
  /// A positive integer (> 0); `what` describes it in the error.
  int64_t PositiveInt(std::string_view key) const;
  int64_t PositiveIntOr(std::string_view key, int64_t fallback) const;

  /// This value as a string / number (for array elements).
  std::string AsStr() const;
  int64_t AsInt() const;
  double AsNum() const;

  /// Checks "format": "<kind>/<major>" and returns the major. Rejects another kind or a major above
  /// `max_major` with a message that says which versions this build reads.
  int RequireFormat(std::string_view kind, int max_major) const;
  /// Rejects members not in `allowed` (catches typos such as "tensor_paralel").
  void RejectUnknownKeys(const std::vector<std::string_view>& allowed) const;

 private:
  const Json* value_;
  std::string file_;
  std::string path_;
};

}  // namespace proteus
