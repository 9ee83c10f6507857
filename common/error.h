// Errors of proteus: who is to blame decides the type and the exit code.
//
//   UserError      bad input (a file, a field, a flag): main() prints "error: <where>: <what>", exits 2.
//   DeviceError    a failing GPU, driver or library call (profiler): exits 2 as well.
//   InternalError  a bug in proteus: exits 1.
//
// An expected miss (no database entry, no route) is not an error: return std::optional.
#pragma once

#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace proteus {

/// Bad input. `where` names the file and the field (or XML path, module path, flag), e.g.
/// "cluster.json: node_groups[0].count".
class UserError : public std::runtime_error {
 public:
  UserError(std::string where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

/// A failing device or vendor library (CUDA, cuBLAS, cuDNN, NCCL, CUPTI).
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A broken invariant inside proteus.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
[[noreturn]] inline void CheckFailed(const char* cond, const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << "internal check failed at " << file << ":" << line << ": " << cond;
  if (!msg.empty()) os << " (" << msg << ")";
  throw InternalError(os.str());
}
}  // namespace detail

}  // namespace proteus

/// Always-on invariant check; a failure is a bug in proteus (exit 1), never a user error.
#define PROTEUS_CHECK(cond, msg)                                                  \
  do {                                                                            \
    if (!(cond)) ::proteus::detail::CheckFailed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)

namespace proteus {

/// Call from inside a catch block in main(): prints "error: <what>" for UserError and DeviceError
/// (returns 2) or "internal error: <what>" for anything else (returns 1). The one place that maps
/// errors to exit codes, shared by proteus-sim and proteus-profile.
int ExitCodeForCurrentException(std::ostream& err);

}  // namespace proteus
