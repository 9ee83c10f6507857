// Reading an input file safely: the one place every input (JSON document, topology XML, database,
// log, trace) is read from disk, so that no input can hang the reader or exhaust memory.
//
//   - "-": standard input, read to its end (at most the size cap).
//   - a regular file, or a symlink to one: read whole, if it is not larger than the size cap.
//   - anything else (a directory, a FIFO, a device such as /dev/zero, a socket): refused before it is
//     read, so a named pipe nobody writes cannot hang the run (stat first, then open non-blocking
//     and check again on the open descriptor).
//
// Size caps, per kind of input (far above any real file of that kind, low enough that the parsed
// form of a hostile file of that size stays in memory):
//
//   kind          default   what
//   kDocument      16 MiB   models, strategies, clusters, suites, runs, manifests, GPU specs, topology XML
//   kDatabase     256 MiB   cost databases (measured entries, curves, calibrations)
//   kMeasurement  512 MiB   Kineto traces, Megatron/NeMo logs, run files that may be logs
//
// PROTEUS_MAX_INPUT_MB=<MiB> (environment) replaces every cap, for a larger input than these.
//
//   std::string text = ReadInputFile("trace.json", InputKind::kMeasurement);
//   // UserError "big.json: the file is 700 MiB, larger than the 512 MiB limit of a measurement
//   //            input; set PROTEUS_MAX_INPUT_MB to read it"
#pragma once

#include <cstdint>
#include <string>

namespace proteus {

enum class InputKind { kDocument, kDatabase, kMeasurement };

/// "document", "database", "measurement": how errors name the kind.
const char* InputKindName(InputKind kind);

/// The size cap of `kind` in bytes: PROTEUS_MAX_INPUT_MB when set (UserError naming the variable
/// if it is not a positive integer of MiB), else the kind's default above.
int64_t InputSizeLimit(InputKind kind);

/// Reads `path` ("-" for standard input) as above, at most `limit_bytes`. UserError(path, reason)
/// when it is not a regular file, cannot be read, or is larger than the limit.
std::string ReadInputFile(const std::string& path, int64_t limit_bytes, InputKind kind);
/// The same with the kind's limit (InputSizeLimit).
std::string ReadInputFile(const std::string& path, InputKind kind = InputKind::kDocument);

}  // namespace proteus
