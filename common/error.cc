#include "common/error.h"

#include <exception>

namespace proteus {

int ExitCodeForCurrentException(std::ostream& err) {
  try {
    throw;
  } catch (const UserError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  } catch (const DeviceError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "internal error: " << e.what() << "\n";
    return 1;
  } catch (...) {
    err << "internal error: unknown exception\n";
    return 1;
  }
}

}  // namespace proteus
