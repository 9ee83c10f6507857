// The message of the UserError a call throws, for tests that check what a refusal names.
#pragma once

#include <functional>
#include <string>

#include "common/error.h"

namespace proteus {

/// What `fn` throws as a UserError, or "(no error)" when it returns.
inline std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace proteus
