// Writing an output file safely: what a path names decides how it is written.
//
//   - "-": standard output, written directly.
//   - a character device or a FIFO (/dev/stdout, /dev/null, a named pipe), or a symlink to one: a
//     stream the user asked for, written directly (opened for writing, never replaced or renamed).
//   - a regular file, a symlink to one, or nothing yet: written to "<path>.tmp.<pid>" beside the
//     target, then renamed over it, so a reader never sees half a file. A symlink is followed: the
//     file it points to is replaced and the link stays.
//   - a directory, block device, socket, or a symlink to one: refused (UserError naming the path).
// Before a write, stale "<name>.tmp.<pid>" files beside the target whose process is gone (a kill -9
// during an earlier write) are removed. Durable writes (databases, calibrations) fsync the file
// before the rename and its folder after it.
#pragma once

#include <string>
#include <string_view>

namespace proteus {

/// Checks, without writing, that `path` can be written as above: UserError(`what`, reason) if it is
/// a directory or an unwritable kind of file, or if its folder is missing or not writable. `what`
/// names the flag or field ("--trace"). Call it before long work, so bad paths fail early.
void CheckOutputPath(const std::string& path, const std::string& what);

enum class Durability { kNormal, kFsync };

/// Writes `content` to `path` as above; UserError(path, reason) on failure, leaving no temp file.
void WriteOutputFile(const std::string& path, std::string_view content, Durability durability = Durability::kNormal);

}  // namespace proteus
